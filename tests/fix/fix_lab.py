"""Helpers for the fix tests: write a lab, audit it, snapshot its files. (A module of its
own, not conftest: `from conftest import` finds whichever conftest was imported first.)"""

from __future__ import annotations

import textwrap
from pathlib import Path

from labwarden.audit.compose import AuditOptions, audit
from labwarden.config import find_config, load_config

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
