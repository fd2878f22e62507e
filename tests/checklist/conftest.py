"""Fixtures of the checklist tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from checklist_cli import EXAMPLE


@pytest.fixture()
def lab(tmp_path: Path, monkeypatch) -> Path:
    """A copy of the example lab without its attestations, records or history, as the
    working directory (a test module may define its own `lab`)."""
    root = tmp_path / "homelab"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".labwarden", "records",
                                                                  "attestations.yaml"))
    monkeypatch.chdir(root)
    return root
