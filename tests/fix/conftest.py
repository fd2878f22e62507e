"""Helpers for the fix tests: write a lab, run `labwarden fix` as the CLI would, audit it."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

import pytest

from labwarden.commands import fix as fix_command
from labwarden.config import find_config, load_config
from labwarden.audit.compose import AuditOptions, audit

DATA = Path(__file__).parent / "data"


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


class Run:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    def line(self, rule: str, status: str | None = None) -> str:
        """The summary line(s) about `rule`, joined."""
        return "\n".join(l for l in self.err.splitlines() if f"  {rule}  " in l
                         and (status is None or l.startswith(status)))


@pytest.fixture
def run_fix(capsys, monkeypatch):
    def run(*argv: str, cwd: Path | None = None) -> Run:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        parser = argparse.ArgumentParser(prog="labwarden fix")
        fix_command.add_arguments(parser)
        code = fix_command.run(parser.parse_args(list(argv)))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def audit_tree(path: Path):
    config = load_config(find_config([str(path)]))
    return audit([str(path)], AuditOptions(config=config))


def snapshot(root: Path) -> dict[str, str | bytes]:
    """Every file's text; a binary file (the example's NPM database) as its bytes."""
    found: dict[str, str | bytes] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            try:
                found[str(path.relative_to(root))] = data.decode("utf-8")
            except UnicodeDecodeError:
                found[str(path.relative_to(root))] = data
    return found
