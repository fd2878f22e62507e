"""Helpers for the script tests (imported by name: tests/scripts is not a package)."""

from __future__ import annotations

import argparse
import os
import textwrap
from pathlib import Path


def write(root: Path, files: dict[str, str], mode: int | None = None) -> Path:
    """Write `files` (relative path -> dedented text) under root; scripts get `mode`."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        if mode is not None and name.endswith(".sh"):
            os.chmod(path, mode)
    return root


def parse_args(argv: list[str]) -> argparse.Namespace:
    """`labwarden scripts ARGV` parsed by the command's own `add_arguments`."""
    from labwarden.commands.scripts import add_arguments

    parser = argparse.ArgumentParser(prog="labwarden scripts")
    add_arguments(parser)
    return parser.parse_args(argv)
