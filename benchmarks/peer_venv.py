"""The peer tool of a benchmark in a virtualenv of its own (benchmarks/.venv-*), created on
first use from the base interpreter, so that its dependencies and labwarden's never meet.
Standard library only."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path


def ensure_peer(venv: Path, requirement: str, executable: str, no_install: bool,
                stale: Callable[[Path], bool] = lambda exe: False) -> Path:
    """`venv`/bin/`executable`, installing `requirement` first when it is missing (or
    `stale` says it is the wrong one); exits when that is needed and `no_install` is set."""
    exe = venv / "bin" / executable
    if exe.exists() and not stale(exe):
        return exe
    if no_install:
        sys.exit(f"bench: {exe} is missing and --no-install was given")
    print(f"bench: installing {requirement} into {venv} …", file=sys.stderr)
    base = getattr(sys, "_base_executable", None) or sys.executable
    subprocess.run([base, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                    "--disable-pip-version-check", requirement], check=True)
    return exe
