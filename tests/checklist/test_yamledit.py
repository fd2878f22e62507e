"""The attestation file is edited in place: after any write, every line that is not part of
the entry written is still there, byte for byte, and the file reads back with exactly the old
data plus the new entry; text that YAML would read as something else is quoted; a write that
would lose a comment or change anything else is refused and leaves the file as it was."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
import yaml

from labwarden.checklist import attest as attest_module
from labwarden.checklist.attest import (Approval, Attestation, AttestationBook, Deployment,
                                        Scope, _plain, _with)
from labwarden.checklist.signoff import SignedState
from labwarden.config import ConfigError
from labwarden.sources.yamlfile import parse_yaml

TODAY = "2026-12-01"

LAYOUTS = {
    "two spaces, {…} lines": """\
# Attestations (reviewed by alice)
services:
  n8n:
    items:
      "1.1.3": {by: jdoe, date: 2026-11-22, note: "one account per person"}   # checked
      "1.2.1": {by: jdoe, date: 2026-11-22, note: TOTP enforced,
                evidence: "https://wiki/n8n#mfa", expires: 2027-05-22}
      # the next one was argued about
      "1.2.2": {by: jdoe, date: 2026-11-22, note: TOTP}
    approvals:
      service_owner: {name: jdoe, date: 2026-11-22}
    deployment:
      date: 2026-11-22   # the first deployment
      method: ci_cd
      status: success
# end of file
""",
    "four spaces, block entries": """\
---
services:
    n8n:
        items:
            "1.1.3":
                by: jdoe      # who
                date: 2026-11-22
                note: 'single quoted'

            "1.2.2":
                by: jdoe
                date: 2026-11-22
""",
    "flow at the top": """\
services: {n8n: {items: {"1.1.3": {by: jdoe, date: 2026-11-22}}}}  # all on one line
""",
    "CRLF line ends": "services:\r\n  n8n:\r\n    items:\r\n      \"1.1.3\": {by: jdoe, "
                      "date: 2026-11-22}\r\n",
    "empty parents": "# nothing yet\nservices:\n  n8n:\n    items:\n",
    "empty flow": "services: {}\n",
    "comments only": "# Attestations for the lab\n# (none yet)\n",
    "empty file": "",
    "lab and hosts first": """\
lab:
  items:
    "5.1.1": {by: jdoe, date: 2026-11-20, note: PBS}
hosts:
  pve1:
    items:
      "3.4.4": {by: jdoe, date: 2026-11-20}
services:
  n8n:
    items:
      "1.1.3": {by: jdoe, date: 2026-11-22}
""",
}

N8N = ("services", "n8n")
# name: (the write, the entries it must add or replace: path, values)
WRITES = {
    "replace an item": (lambda book: book.attest(
        [(Scope("service", "n8n"), Attestation("1.1.3", "bob", TODAY, note="again"))]),
        [(N8N + ("items", "1.1.3"), {"by": "bob", "date": TODAY, "note": "again"})]),
    "add an item": (lambda book: book.attest(
        [(Scope("service", "n8n"), Attestation("1.3.1", "bob", TODAY, na="no SSO"))]),
        [(N8N + ("items", "1.3.1"), {"by": "bob", "date": TODAY, "na": "no SSO"})]),
    "add a service": (lambda book: book.attest(
        [(Scope("service", "grafana"), Attestation("1.2.1", "bob", TODAY))]),
        [(("services", "grafana", "items", "1.2.1"), {"by": "bob", "date": TODAY})]),
    "add for the lab, a host and a group at once": (lambda book: book.attest(
        [(Scope("lab"), Attestation("6.4.1", "bob", TODAY, note="ntfy")),
         (Scope("host", "pve1"), Attestation("3.4.4", "bob", TODAY, expires="2027-01-01")),
         (Scope("group", "media"), Attestation("6.2.1", "bob", TODAY))]),
        [(("lab", "items", "6.4.1"), {"by": "bob", "date": TODAY, "note": "ntfy"}),
         (("hosts", "pve1", "items", "3.4.4"), {"by": "bob", "date": TODAY,
                                                "expires": "2027-01-01"}),
         (("groups", "media", "items", "6.2.1"), {"by": "bob", "date": TODAY})]),
    "approve": (lambda book: book.approve("n8n", Approval("security_reviewer", "alice",
                                                          TODAY)),
                [(N8N + ("approvals", "security_reviewer"), {"name": "alice", "date": TODAY})]),
    "approve a state": (lambda book: book.approve("n8n", Approval(
        "security_reviewer", "alice", TODAY,
        SignedState("High", "012345670123", "HIGH", ("10.1.1", "4.2.3"), ()))),
        [(N8N + ("approvals", "security_reviewer"), {
            "name": "alice", "date": TODAY,
            "state": {"risk": "High", "fingerprint": "012345670123", "threshold": "HIGH",
                      "failing": ["10.1.1", "4.2.3"], "findings": []}})]),
    "record a deployment": (lambda book: book.set_deployment(
        "n8n", Deployment(TODAY, "manual", "success", lessons="pin digests")),
        [(N8N + ("deployment",), {"date": TODAY, "method": "manual", "status": "success",
                                  "lessons": "pin digests"})]),
}


def data(text: str) -> dict:
    documents, problems = parse_yaml(text, "f")
    assert not problems
    return _plain(documents[0]) if documents and documents[0] else {}


def entry_lines(text: str, key: str) -> set[str]:
    """The lines of the entry `key` (its first line to the line before the next key at its
    indentation or less), which a replace may rewrite."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.lstrip().startswith((f'"{key}":', f"{key}:")):
            indent = len(line) - len(line.lstrip())
            found = {line}
            for follower in lines[index + 1:]:
                stripped = follower.strip()
                if stripped and not stripped.startswith("#") and \
                        len(follower) - len(follower.lstrip()) <= indent:
                    break
                found.add(follower)
            return found
    return set()


@pytest.mark.parametrize("write", WRITES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_write_changes_only_the_entry_it_writes(tmp_path: Path, layout, write) -> None:
    path = tmp_path / "attestations.yaml"
    before = LAYOUTS[layout]
    path.write_bytes(before.encode())
    write_it, changes = WRITES[write]
    write_it(AttestationBook(str(path)))
    after = path.read_bytes().decode()
    # It reads back as the old data plus the entries written, nothing else.
    expected = data(before)
    for entry_path, values in changes:
        expected = _with(expected, entry_path, values)
    assert data(after) == expected
    # Every line the write removed belongs to the entry it replaced (or to an empty `{}`
    # or `key:` it filled, or a whole one-line flow document).
    removed = [line[2:] for line in difflib.ndiff(before.splitlines(), after.splitlines())
               if line.startswith("- ")]
    allowed = {line for entry_path, _ in changes for line in entry_lines(before,
                                                                          entry_path[-1])}
    allowed |= {line for line in before.splitlines() if line.rstrip().endswith(("{}", ":"))
                or line.startswith("services: {")}
    assert set(removed) <= allowed, removed
    # Comments and the document start survive.
    for line in before.splitlines():
        if line.strip().startswith("#") or line == "---":
            assert line in after.splitlines(), line
    if "\r\n" in before:
        assert after.count("\r\n") == after.count("\n")


def test_the_example_layout_keeps_its_multi_line_entries(tmp_path: Path) -> None:
    path = tmp_path / "attestations.yaml"
    before = LAYOUTS["two spaces, {…} lines"]
    path.write_text(before)
    WRITES["add an item"][0](AttestationBook(str(path)))
    after = path.read_text()
    assert after.replace('      "1.3.1": {by: bob, date: 2026-12-01, na: no SSO}\n', "") == \
        before


NOTES = ["1e3", "yes", "on", "No", "null", "~", "0x1F", "0o17", "1_000", "12:30", ".5", "+1",
         ".inf", ".NaN", "2026-01-01", "true", "a: b", "a:b", "#x", "a #b", "- x", "[x]",
         "{x}", "'q'", '"dq"', " lead", "trail ", "multi\nline", "tab\tx", "ünïcödé 😀",
         "line\u2028sep", "del\x7f", "bell\x07", "@x", "`x", "%x", "!x", "*x", "&x", "|", ">",
         "a, b", "?", "-", ":", "back\\slash", "=", "<<", "", "x" * 300]


@pytest.mark.parametrize("note", NOTES)
def test_any_text_reads_back_as_itself(tmp_path: Path, note: str) -> None:
    path = tmp_path / "attestations.yaml"
    path.write_text(LAYOUTS["two spaces, {…} lines"])
    book = AttestationBook(str(path))
    book.attest([(Scope("service", "n8n"), Attestation("1.3.1", "bob", TODAY, note=note,
                                                       evidence=note))])
    entry = AttestationBook(str(path)).services["n8n"].items["1.3.1"]
    assert (entry.note, entry.evidence) == (note, note)
    # Other YAML readers (PyYAML's 1.1 rules: `yes`, `12:30`) read the same text.
    loaded = yaml.safe_load(path.read_text())["services"]["n8n"]["items"]["1.3.1"]
    assert loaded.get("note", "") == note


def test_a_write_that_would_drop_a_comment_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "attestations.yaml"
    text = ('services:\n  n8n:\n    items:\n      "1.1.3":\n        by: jdoe\n'
            '        date: 2026-11-22\n        expires: 2027-01-01   # agreed with alice\n')
    path.write_text(text)
    with pytest.raises(ConfigError, match="would drop the comment '# agreed with alice'"):
        AttestationBook(str(path)).attest(
            [(Scope("service", "n8n"), Attestation("1.1.3", "bob", TODAY))])
    assert path.read_text() == text


def test_a_write_that_would_change_another_entry_is_refused(tmp_path: Path,
                                                            monkeypatch) -> None:
    path = tmp_path / "attestations.yaml"
    text = LAYOUTS["lab and hosts first"]
    path.write_text(text)
    real = attest_module._edited

    def careless(current, changes):     # a splice that also loses the lab's entry
        return real(current, changes).replace('    "5.1.1": {by: jdoe, date: 2026-11-20, '
                                              'note: PBS}\n', "")

    monkeypatch.setattr(attest_module, "_edited", careless)
    with pytest.raises(ConfigError, match="would change `lab.items` besides what was asked"):
        AttestationBook(str(path)).attest(
            [(Scope("service", "n8n"), Attestation("1.2.1", "bob", TODAY))])
    assert path.read_text() == text


def test_a_file_that_is_not_a_mapping_of_mappings_is_not_edited(tmp_path: Path) -> None:
    path = tmp_path / "attestations.yaml"
    text = "services:\n  n8n:\n    items: {}\n    approvals: []\n"
    path.write_text(text)
    with pytest.raises(ConfigError, match="`approvals` must be a mapping"):
        AttestationBook(str(path)).approve("n8n", Approval("service_owner", "a", TODAY))
    assert path.read_text() == text
