"""Fixtures of the fix tests: run `labwarden fix` as the CLI would."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from fix_lab import Run

from labwarden.commands import fix as fix_command


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
