"""The README's checklist commands, verbatim, on a copy of the example lab: each exits as the
README says, and after each the attestation file still loads (schema, inventory and
catalogue), keeps every comment, and has lost no answer given before. A README edit that
adds a command this test does not know fails here, so the documented workflow stays run."""

from __future__ import annotations

import datetime as dt
import re
import shlex
import shutil
import sys
import types
from pathlib import Path

from labwarden.checklist.attest import AttestationBook
from labwarden.checklist.catalog import load_catalog
from labwarden.cli import main
from labwarden.commands import checklist as checklist_commands
from labwarden.config import load_config
from labwarden.inventory import load_inventory

ROOT = Path(__file__).parents[2]
# The exit codes the README gives each command (`gate`: 0 GO, 1 NO-GO).
EXIT = {"checklist": {0}, "attest": {0}, "approve": {0}, "record": {0}, "gate": {0, 1},
        "archive": {0}, "history": {0}, "diff": {0}}
# What the walk is told on its terminal: attest the first OPEN item, skip one, quit.
WALK_ANSWERS = ["a\n", "checked by hand\n", "s\n", "q\n"]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### The pre-deployment checklist"):]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the checklist section has no sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


class Terminal:
    """stdin as a person at a terminal would answer the walk."""

    def __init__(self, lines: list[str]):
        self.lines = list(lines)

    def readline(self) -> str:
        return self.lines.pop(0) if self.lines else ""

    def isatty(self) -> bool:
        return True


class FrozenDate(dt.date):
    @classmethod
    def today(cls):
        return cls(2026, 12, 6)


def answers(book: AttestationBook) -> set[tuple[str, str]]:
    found = {(str(scope), item) for scope, items in book.scoped.items() for item in items}
    return found | {(f"service {name}", item) for name, record in book.services.items()
                    for item in record.items}


def test_the_readme_checklist_commands_run_in_order(tmp_path: Path, monkeypatch,
                                                    capsys) -> None:
    lab = tmp_path / "examples" / "homelab"
    shutil.copytree(ROOT / "examples" / "homelab", lab,
                    ignore=shutil.ignore_patterns(".labwarden", "records"))
    monkeypatch.chdir(tmp_path)
    # The README's dates (`--expires 2027-05-01`) are read on a fixed day, not the clock.
    monkeypatch.setattr(checklist_commands, "dt",
                        types.SimpleNamespace(date=FrozenDate, datetime=dt.datetime))
    path = lab / "attestations.yaml"
    comments = [line for line in path.read_text().splitlines()
                if line.strip().startswith("#")]
    given: set[tuple[str, str]] = set()
    ran = []
    for line in readme_commands():
        words = shlex.split(line, comments=True)
        if not words:                               # a comment line
            continue
        if words[:1] == ["cd"]:
            monkeypatch.chdir(tmp_path / words[1])
            continue
        assert words[0] == "labwarden", line
        command = words[1]
        assert command in EXIT, f"the README runs `{command}`: add what it should exit with"
        monkeypatch.setattr(sys, "stdin", Terminal(WALK_ANSWERS))
        code = main(words[1:])
        out, err = capsys.readouterr()
        assert code in EXIT[command], f"{line}\n{out}{err}"
        assert "Traceback" not in err
        if command == "gate":
            assert out.startswith("GO" if code == 0 else "NO-GO")
        inventory = load_inventory(load_config(str(lab / "labwarden.yaml")))
        book = AttestationBook(str(path), inventory, load_catalog())   # still loads
        text = path.read_text()
        assert all(comment in text.splitlines() for comment in comments), line
        now = answers(book)
        assert given <= now, f"{line} lost {given - now}"
        given = now
        ran.append(command)
    # The whole workflow ran, scopes, the bulk file and the walk included.
    assert {"checklist", "attest", "approve", "record", "gate", "archive"} <= set(ran)
    assert {("lab", "6.4.3"), ("host docker-01", "3.5.3"), ("group apps", "5.1.1"),
            ("lab", "10.2.1"), ("service paperless", "5.4.2")} <= given
    assert list((lab / "records").glob("n8n-*.md"))
    walked = [a for a in book.services["paperless"].items.values()
              if a.note == "checked by hand"]
    assert len(walked) == 1                        # the walk's one answer, then skip, quit

