"""What the checklist tests share: the example lab, and the command line run in-process."""

from __future__ import annotations

from pathlib import Path

from labwarden.cli import main

EXAMPLE = Path(__file__).parents[2] / "examples" / "homelab"


def run(capsys, *args: str) -> tuple[int, str, str]:
    """`labwarden ARGS…`: (exit code, stdout, stderr)."""
    code = main([*args])
    out, err = capsys.readouterr()
    return code, out, err
