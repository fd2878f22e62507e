from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from console_server import TODAY, ConsoleServer  # noqa: E402

EXAMPLE = Path(__file__).parents[2] / "examples" / "homelab"


@pytest.fixture()
def lab(tmp_path: Path) -> Path:
    """A copy of the example lab: the console writes into it, never into examples/."""
    root = tmp_path / "homelab"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".labwarden", "records"))
    return root


@pytest.fixture()
def console(lab: Path):
    server = ConsoleServer(str(lab / "labwarden.yaml"), today=TODAY).start()
    yield server
    server.stop()
