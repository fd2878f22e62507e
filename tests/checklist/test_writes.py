"""What the checklist commands write: the attestation file (its schema, the README's own
sequence), deployment records (never outside their folder, never half written) and the
`labwarden.yaml` that `init --write` proposes (YAML that loads back, names unique)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from labwarden import fsio
from labwarden.checklist.attest import AttestationBook
from labwarden.checklist.records import archive
from checklist_cli import EXAMPLE, run
from labwarden.config import ConfigError, load_config
from labwarden.inventory import load_inventory

TODAY = "2026-11-27"



@pytest.fixture()
def homelab(tmp_path: Path, monkeypatch) -> Path:
    """The example lab as shipped, its attestation file included."""
    root = tmp_path / "homelab"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".labwarden", "records"))
    monkeypatch.chdir(root)
    return root


# --- the README's sequence --------------------------------------------------------------

def test_the_readme_attest_sequence_keeps_the_file_readable(homelab: Path, capsys) -> None:
    before = (homelab / "attestations.yaml").read_text()
    assert run(capsys, "attest", "n8n", "1.2.2", "--by", "jdoe", "--note",
               "TOTP for every admin", "--expires", "2027-05-01")[0] == 0
    assert run(capsys, "attest", "n8n", "1.3.1", "--by", "jdoe", "--na",
               "no SSO in this lab")[0] == 0
    assert run(capsys, "checklist", "n8n")[0] == 0
    assert run(capsys, "gate", "n8n")[0] in (0, 1)              # a verdict, not an error
    assert run(capsys, "approve", "n8n", "--role", "security_reviewer", "--name", "alice")[0] \
        == 0
    code, out, _ = run(capsys, "archive", "n8n")
    assert code == 0 and "records" in out
    text = (homelab / "attestations.yaml").read_text()
    # The reviewers' comments and one-line entries survive; only the two answers changed.
    assert text.splitlines()[:2] == before.splitlines()[:2]
    assert '"1.2.2": {by: jdoe, date: ' in text and "note: TOTP for every admin, " \
        "expires: 2027-05-01}" in text
    assert "na: no SSO in this lab}" in text
    record = AttestationBook(str(homelab / "attestations.yaml")).services["n8n"]
    assert record.items["1.2.2"].expires == "2027-05-01"
    assert record.items["1.3.1"].na == "no SSO in this lab"
    assert record.items["1.1.3"].note == "one account per person, no shared login"
    assert record.approvals["security_reviewer"].name == "alice"
    assert len(record.items) == 18


def test_a_long_entry_is_never_folded_into_unreadable_yaml(tmp_path: Path) -> None:
    path = tmp_path / "attestations.yaml"
    path.write_text('services:\n  n8n:\n    items:\n      "1.1.1": {by: jdoe, date: 2026-11-22,'
                    ' note: a note long enough that ruamel folded it across lines}\n')
    book = AttestationBook(str(path))
    from labwarden.checklist.attest import Attestation, Scope

    note = "a longer note, with commas: and a colon, " * 4
    book.attest([(Scope("service", "n8n"), Attestation("1.1.2", "jdoe", "2026-11-27",
                                                       note=note))])
    assert AttestationBook(str(path)).services["n8n"].items["1.1.2"].note == note


# --- the attestation file's schema ------------------------------------------------------

@pytest.mark.parametrize("entry, message", [
    ("{by: jdoe, date: 2026-11-22, expire: 2027-01-01}",
     "unknown key 'expire' in attestation of 1.2.1; did you mean 'expires'?"),
    ("{by: jdoe, date: 2026-11-22, expires: 2027-13-01}", "expires must be a date"),
    ("{by: jdoe, date: yesterday}", "date must be a date"),
    ("{by: jdoe, date: 2026-11-22, note: [a, b]}", "`note` must be text, not a list"),
    ("{by: {name: jdoe}, date: 2026-11-22}", "`by` must be text, not a mapping"),
    ("just a string", "attestation of 1.2.1 must be a mapping"),
])
def test_a_wrong_attestation_is_an_error_with_its_line(tmp_path, entry, message) -> None:
    path = tmp_path / "attestations.yaml"
    path.write_text(f'# header\nservices:\n  n8n:\n    items:\n      "1.2.1": {entry}\n')
    with pytest.raises(ConfigError) as error:
        AttestationBook(str(path))
    assert message in str(error.value)
    assert f"{path}:5" in str(error.value)


@pytest.mark.parametrize("text, message", [
    ("servics: {}\n", "unknown key 'servics' in the attestation file; did you mean "
                      "'services'?"),
    ("services:\n  n8n:\n    approval: {}\n", "did you mean 'approvals'?"),
    ("services:\n  n8n:\n    approvals:\n      security_reviewr: {name: a}\n",
     "did you mean 'security_reviewer'?"),
    ("services:\n  n8n:\n    approvals:\n      service_owner: {nmae: a, name: b}\n",
     "did you mean 'name'?"),
    ("services:\n  n8n:\n    deployment: {method: cicd}\n", "did you mean 'ci_cd'?"),
    ("services:\n  n8n:\n    items: [1.2.1]\n", "`items` must be a mapping"),
    ("- a list\n", "must be a mapping with `services:`"),
])
def test_the_attestation_file_has_a_schema(tmp_path, text, message) -> None:
    path = tmp_path / "attestations.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="attestations.yaml:") as error:
        AttestationBook(str(path))
    assert message in str(error.value)


def test_attest_refuses_to_build_on_a_wrong_file_and_leaves_it(homelab, capsys) -> None:
    path = homelab / "attestations.yaml"
    text = path.read_text().replace("expires: 2027-05-22", "expire: 2027-05-22")
    path.write_text(text)
    code, _, err = run(capsys, "approve", "n8n", "--role", "security_reviewer", "--name", "a")
    assert code == 2 and "did you mean 'expires'?" in err and "attestations.yaml:" in err
    assert path.read_text() == text


# --- records ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["../../escaped", "/tmp/escaped", "a/b", "../..", "x\0y"])
def test_a_record_is_never_written_outside_the_records_folder(tmp_path, name) -> None:
    records = tmp_path / "lab" / "records"
    evaluation = SimpleNamespace(service=SimpleNamespace(name=name))
    with pytest.raises(fsio.WriteRefused):
        archive(evaluation, None, str(records), "2026-11-27")
    assert list(tmp_path.rglob("*")) == []


def test_archive_of_a_hostile_service_name_exits_2(homelab, capsys) -> None:
    config = homelab / "labwarden.yaml"
    config.write_text(config.read_text().replace("\nservices:\n",
                                                 '\nservices:\n  "../../escaped": {}\n', 1))
    code, _, err = run(capsys, "archive", "../../escaped", "--today", TODAY)
    assert code == 2 and "Traceback" not in err
    assert not list(homelab.parent.parent.rglob("escaped*"))


def test_a_record_is_never_half_written(homelab, capsys, monkeypatch) -> None:
    assert run(capsys, "archive", "n8n", "--today", TODAY)[0] == 0
    record = homelab / "records" / "n8n-20261127.md"
    complete = record.read_text()

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    code, _, err = run(capsys, "archive", "n8n", "--today", TODAY)     # would be -2.md
    assert code == 2 and "No space left on device" in err
    assert record.read_text() == complete
    assert sorted(p.name for p in record.parent.iterdir()) == ["n8n-20261127.md"]


# --- init --write -----------------------------------------------------------------------

HOSTILE = ["a: b #c", "&anchor *x", "new\nline", "a b", "a-b", "quote'\"", "-", "ünïcode"]


def test_init_writes_yaml_that_loads_back_with_unique_names(tmp_path, capsys) -> None:
    tree = tmp_path / "lab"
    for name in HOSTILE:
        (tree / name).mkdir(parents=True)
        (tree / name / "compose.yaml").write_text("services:\n  web:\n    image: nginx:1\n")
    code, out, err = run(capsys, "init", str(tree), "--write")
    assert code == 0, err
    inventory = load_inventory(load_config(str(tree / "labwarden.yaml")))
    assert len(inventory.services) == len(HOSTILE)             # none lost to a collision
    assert sorted(os.path.basename(s.compose) for s in inventory.services.values()) == \
        sorted(HOSTILE)
    for name in inventory.services:
        assert fsio.child(str(tree / "records"), f"{name}-20261127.md")    # a safe file name
    assert {"a-b", "a-b-2"} <= set(inventory.services)


def test_init_writes_nothing_that_does_not_load_back(tmp_path, capsys, monkeypatch) -> None:
    from labwarden.commands import checklist

    monkeypatch.setattr(checklist, "_proposal", lambda path, base: "services:\n  x: [\n")
    (tmp_path / "app").mkdir()      # a project to propose (an empty tree is refused first)
    (tmp_path / "app" / "compose.yaml").write_text("services:\n  web:\n    image: nginx\n")
    code, _, err = run(capsys, "init", str(tmp_path), "--write")
    assert code == 2 and "does not load back" in err
    assert [p.name for p in tmp_path.iterdir()] == ["app"]
