"""`labwarden attest` through the real command line on a copy of the example lab: many items
and scopes in one audit and one write, the bulk file, the refusals (an item the audit fails
for any service answered, dates, N/A of a required item, names that do not exist), what it
says beyond the obvious, and the interactive walk driven through a pipe."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from checklist_cli import EXAMPLE

from labwarden import audit as audit_package
from labwarden import fsio
from labwarden.checklist.attest import Approval, AttestationBook, Scope
from labwarden.checklist.catalog import load_catalog
from labwarden.cli import main
from labwarden.config import ConfigError, load_config
from labwarden.inventory import load_inventory

TODAY = "2026-12-01"


@pytest.fixture()
def lab(tmp_path: Path, monkeypatch) -> Path:
    root = tmp_path / "homelab"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".labwarden", "records"))
    monkeypatch.chdir(root)
    return root


@pytest.fixture()
def counted(monkeypatch) -> dict[str, int]:
    """How many audits ran and how many files were replaced."""
    counts = {"audits": 0, "writes": 0}
    real_run, real_replace = audit_package.run, fsio.replace

    def run(*args, **kwargs):
        counts["audits"] += 1
        return real_run(*args, **kwargs)

    def replace(*args, **kwargs):
        counts["writes"] += 1
        return real_replace(*args, **kwargs)

    monkeypatch.setattr(audit_package, "run", run)
    monkeypatch.setattr(fsio, "replace", replace)
    return counts


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--today", TODAY])
    out, err = capsys.readouterr()
    return code, out, err


def book(lab: Path) -> AttestationBook:
    inventory = load_inventory(load_config(str(lab / "labwarden.yaml")))
    return AttestationBook(str(lab / "attestations.yaml"), inventory, load_catalog())


def status(capsys, service: str) -> dict[str, dict]:
    code, out, _ = run(capsys, "checklist", service, "--format", "json")
    assert code == 0
    return {i["id"]: i for i in json.loads(out)["items"]}


def answered(lab: Path, service: str, item: str) -> tuple[str, str] | None:
    inventory = load_inventory(load_config(str(lab / "labwarden.yaml")))
    found = book(lab).record_for(inventory.services[service]).items.get(item)
    return None if found is None else (found.scope, found.note)


# --- many items, one audit, one write ----------------------------------------------------

def test_ids_ranges_and_subsections_in_one_audit_and_one_write(lab, capsys, counted) -> None:
    code, out, err = run(capsys, "attest", "paperless", "9.1", "10.3.1-10.3.3", "6.4.4",
                         "--by", "jdoe", "--note", "checked")
    assert code == 0, err
    assert counted == {"audits": 1, "writes": 1}
    assert out.startswith("paperless: attested 6.4.4, 9.1.1-9.1.5, 10.3.1-10.3.3 by jdoe")
    assert "(9 answers, one write)" in out
    items = book(lab).services["paperless"].items
    assert sorted(items) == sorted(["9.1.1", "9.1.2", "9.1.3", "9.1.4", "9.1.5", "10.3.1",
                                    "10.3.2", "10.3.3", "6.4.4"])
    assert {a.note for a in items.values()} == {"checked"}


def test_a_host_attestation_answers_every_service_on_it_and_a_service_one_overrides(
        lab, capsys, counted) -> None:
    code, out, err = run(capsys, "attest", "--host", "docker-01", "3.5.3", "--by", "jdoe",
                         "--note", "nftables default drop")
    assert code == 0, err
    assert out.startswith("host docker-01 (grafana, n8n, paperless): attested 3.5.3 by jdoe")
    assert counted == {"audits": 1, "writes": 1}       # three services, one audit
    for service in ("grafana", "n8n", "paperless"):
        assert status(capsys, service)["3.5.3"]["status"] == "ATTESTED"
        assert answered(lab, service, "3.5.3") == ("host docker-01", "nftables default drop")
    code, out, _ = run(capsys, "attest", "n8n", "3.5.3", "--by", "jdoe", "--note",
                       "n8n also filters egress")
    assert code == 0
    assert answered(lab, "n8n", "3.5.3") == ("service", "n8n also filters egress")
    assert answered(lab, "paperless", "3.5.3") == ("host docker-01", "nftables default drop")
    # Attesting the host again says which service keeps its own answer.
    code, out, _ = run(capsys, "attest", "--host", "docker-01", "3.5.3", "--by", "bob")
    assert "3.5.3 replaces the attestation by jdoe of 2026-12-01 [host docker-01]: " \
        "nftables default drop" in out
    assert "3.5.3: n8n keeps its own answer (attested by jdoe on 2026-12-01), which takes " \
        "precedence over the host's" in out


def test_group_and_lab_scopes(lab, capsys) -> None:
    code, out, _ = run(capsys, "attest", "--group", "apps", "6.2.2", "--by", "jdoe",
                       "--note", "sudo logged")
    assert code == 0 and out.startswith("group apps (n8n, paperless): attested 6.2.2")
    assert answered(lab, "n8n", "6.2.2") == ("group apps", "sudo logged")
    assert answered(lab, "grafana", "6.2.2") is None
    code, out, _ = run(capsys, "attest", "--lab", "6.2.3", "--by", "jdoe")
    assert code == 0 and out.startswith("the lab (grafana, n8n, paperless): attested 6.2.3")
    assert answered(lab, "grafana", "6.2.3")[0] == "lab"


def test_a_scope_is_refused_when_the_audit_fails_the_item_for_any_of_its_services(
        lab, capsys, counted) -> None:
    before = (lab / "attestations.yaml").read_bytes()
    code, out, err = run(capsys, "attest", "--lab", "6.4.3", "3.1.5", "--by", "jdoe")
    assert code == 1 and out == ""
    assert "refusing to attest" in err and "nothing written" in err
    assert "3.1.5 for paperless" in err and "NET002" in err
    assert "6.4.3" not in err                          # only what fails is named
    assert (lab / "attestations.yaml").read_bytes() == before
    assert counted == {"audits": 1, "writes": 0}


def test_it_says_when_evidence_already_answers_or_the_item_does_not_apply(lab, capsys) -> None:
    code, out, _ = run(capsys, "attest", "n8n", "4.3.3", "3.4.3", "--by", "jdoe")
    assert code == 0
    assert "4.3.3 already passes from evidence for n8n (" in out
    assert "recorded anyway: it answers the item whenever that evidence is not collected" \
        in out
    assert "3.4.3 is N/A for n8n (does not apply to docker" in out
    assert "4.3.3" in book(lab).services["n8n"].items


def test_replacing_says_what_it_replaced(lab, capsys) -> None:
    code, out, _ = run(capsys, "attest", "n8n", "1.2.2", "--by", "bob", "--note", "WebAuthn")
    assert code == 0
    assert "1.2.2 replaces the attestation by jdoe of 2026-11-22: TOTP" in out
    code, out, _ = run(capsys, "attest", "n8n", "1.3.1", "--by", "bob", "--na", "no IdP")
    assert "1.3.1 replaces the N/A (n8n is not behind TinyAuth in this lab) by jdoe of " \
        "2026-11-22" in out


# --- refusals ----------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["n8n", "1.2.1", "--expires", "2026-11-30"], "--expires 2026-11-30 is in the past"),
    (["n8n", "1.2.1", "--expires", "2026-13-01"], "--expires must be a date"),
    (["n8n", "1.2.1", "1.2.2", "--na", "no"], "1.2.1, 1.2.2 are not marked optional"),
    (["n8n", "1.2.9"], "no checklist item '1.2.9'; did you mean"),
    (["n8n", "1.9"], "no checklist subsection '1.9'; did you mean"),
    (["n8n", "1.2.3-1.2.1"], "range '1.2.3-1.2.1' runs backwards"),
    (["n8m", "1.2.1"], "no service 'n8m' in the inventory"),
    (["--host", "docker01", "1.2.1"], "host 'docker01' is not defined under `hosts:` in the "
     "inventory; did you mean 'docker-01'?"),
    (["--group", "app", "1.2.1"], "group 'app' is not declared by any service or host (`groups:`, or the Ansible inventory); "
     "did you mean 'apps'?"),
    (["--host", "docker-01", "n8n", "1.2.1"], "no checklist item 'n8n'"),
    (["n8n"], "name the SERVICE, then the items"),
    (["--lab"], "attest --lab: name the items"),
    (["--from", "answers.yaml", "n8n"], "takes scopes, items and notes from the file"),
    (["n8n", "1.2.1", "--stdin"], "--stdin only goes with --walk"),
    (["n8n", "1.2.3", "--walk"], "attest --walk takes one SERVICE"),
    (["n8n", "1.2.3", "--by", " "], "--by needs the name"),
])
def test_refusals_are_usage_errors_and_write_nothing(lab, capsys, args, message) -> None:
    before = (lab / "attestations.yaml").read_bytes()
    code, out, err = run(capsys, "attest", "--by", "jdoe", *args)
    assert code == 2 and message in err and "Traceback" not in err
    assert (lab / "attestations.yaml").read_bytes() == before


def test_dates_in_the_future_are_refused(lab, capsys) -> None:
    before = (lab / "attestations.yaml").read_bytes()
    code, _, err = run(capsys, "approve", "n8n", "--role", "service_owner", "--name", "a",
                       "--date", "2026-12-02")
    assert code == 2 and "2026-12-02" in err and "today" in err
    code, _, err = run(capsys, "record", "n8n", "--method", "manual", "--status", "failed",
                       "--date", "2027-01-01")
    assert code == 2 and "the deployment date 2027-01-01 is in the future (today is " \
        "2026-12-01)" in err
    assert (lab / "attestations.yaml").read_bytes() == before
    book_now = AttestationBook(str(lab / "attestations.yaml"))
    with pytest.raises(ConfigError, match="the approval date 2026-12-03 is in the future"):
        book_now.today = dt.date(2026, 12, 1)
        book_now.approve("n8n", Approval("service_owner", "a", "2026-12-03"))
    assert (lab / "attestations.yaml").read_bytes() == before


# --- the bulk file -----------------------------------------------------------------------

def test_the_example_answers_file_is_one_audit_and_one_write(lab, capsys, counted) -> None:
    code, out, err = run(capsys, "attest", "--from", "answers.yaml", "--by", "jdoe")
    assert code == 0, err
    assert counted == {"audits": 1, "writes": 1}
    assert "the lab (grafana, n8n, paperless): attested 10.2.1-10.2.3, 10.4.1-10.4.4" in out
    assert "group apps (n8n, paperless): attested 6.2.1" in out
    assert "paperless: N/A 5.4.2 (no payment card data in the document archive)" in out
    book_now = book(lab)
    assert sorted(book_now.items_at(Scope("lab"))) == ["10.2.1", "10.2.2", "10.2.3",
                                                       "10.4.1", "10.4.2", "10.4.3", "10.4.4"]
    assert book_now.items_at(Scope("lab"))["10.4.2"].evidence == \
        "https://wiki.lab.example/access"
    assert status(capsys, "paperless")["5.4.2"]["status"] == "N/A"
    assert status(capsys, "grafana")["10.2.2"]["status"] == "ATTESTED"


@pytest.mark.parametrize("text, line, message", [
    ("- scope: lab\n  items:\n    \"6.4.1\": {note: a, expire: 2027-01-01}\n", 3,
     "unknown key 'expire' in the answer for 6.4.1; did you mean 'expires'?"),
    ("- scope: lab\n  items:\n    \"6.4.1\": {note: one, two three}\n", 3,
     "a comma inside `{…}` ends a value; put text with commas in quotes"),
    ("- scope: hots docker-01\n  items: {\"6.4.1\": {}}\n", 1, "did you mean 'host'?"),
    ("- scope: group app\n  items: {\"6.4.1\": {}}\n", 1, "did you mean 'apps'?"),
    ("- scope: lab\n  items:\n    \"6.4.1\": {expires: 2026-01-01}\n", 3,
     "expires 2026-01-01 is in the past"),
    ("- scope: lab\n  items:\n    \"6.4\": {}\n    \"6.4.2\": {note: again}\n", 4,
     "6.4.2 is answered twice for lab"),
    ("- scope: service n8n\n  items:\n    \"1.2.1\": {na: no}\n", 3,
     "1.2.1 is not marked optional"),
    ("- scope: lab\n  items:\n    \"6.4.9\": {}\n", 3, "no checklist item '6.4.9'"),
    ("- scope: lab\n  itmes: {}\n", 2, "did you mean 'items'?"),
    ("- scope: lab\n", 1, "entry for lab needs `items:`"),
    ("scope: lab\n", 1, "an attest file is a list of entries"),
])
def test_a_wrong_bulk_file_is_an_error_at_its_line(lab, capsys, counted, text, line,
                                                    message) -> None:
    (lab / "batch.yaml").write_text(text)
    before = (lab / "attestations.yaml").read_bytes()
    code, _, err = run(capsys, "attest", "--from", "batch.yaml", "--by", "jdoe")
    assert code == 2 and message in err
    assert f"batch.yaml:{line}:" in err
    assert (lab / "attestations.yaml").read_bytes() == before
    assert counted == {"audits": 0, "writes": 0}       # checked before anything runs


# --- the walk ----------------------------------------------------------------------------

def walk(lab: Path, answers: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labwarden", "attest", "grafana", "--walk",
                           "--by", "alice", "--today", TODAY, *extra],
                          cwd=lab, input=answers, capture_output=True, text=True, timeout=300)


def open_items(capsys) -> list[dict]:
    return [i for i in status(capsys, "grafana").values() if i["status"] == "OPEN"]


def test_the_walk_reads_answers_from_a_pipe(lab, capsys) -> None:
    first, second, third, fourth = open_items(capsys)[:4]
    assert not second["id"].startswith("1.3") and second["id"] != "1.4.5"   # not optional
    # first: attested, the note asked for; second: N/A refused (not optional), then skipped;
    # third: attested with its note on the line; fourth: an unknown answer, then skipped
    # with an empty line; the fifth: quit.
    done = walk(lab, "a\nadmins are named\nn\ns\na list in the wiki\nx\n\nq\n", "--stdin")
    assert done.returncode == 0, done.stderr
    assert "OPEN item(s)" in done.stdout
    assert f"[1/{len(open_items(capsys)) + 2}] {first['id']}  {first['severity']}  " \
           f"{first['text']}" in done.stdout
    assert f"    open: {first['note']}" in done.stdout
    assert f"{second['id']} is not optional in the checklist: it cannot be N/A" in done.stdout
    assert "answer a, n, s or q" in done.stdout
    assert "grafana: stopped: 2 attested, 0 N/A, 2 skipped" in done.stdout
    items = book(lab).services["grafana"].items
    assert {k: v.note for k, v in items.items()} == {first["id"]: "admins are named",
                                                      third["id"]: "list in the wiki"}
    assert {v.by for v in items.values()} == {"alice"}
    assert fourth["id"] not in items


def test_the_walk_answers_na_for_optional_items(lab, capsys) -> None:
    ids = [i["id"] for i in open_items(capsys)]
    optional = next(i.id for i in load_catalog().items if i.optional and i.id in ids)
    done = walk(lab, "s\n" * ids.index(optional) + "n\nnot used here\nq\n", "--stdin")
    assert done.returncode == 0, done.stderr
    assert f"→ {optional} N/A (not used here)" in done.stdout
    assert book(lab).services["grafana"].items[optional].na == "not used here"


def test_the_walk_refuses_a_pipe_unless_told(lab) -> None:
    done = walk(lab, "a\nnote\n")
    assert done.returncode == 2
    assert "stdin is not one; add --stdin" in done.stderr
    assert "grafana" not in book(lab).services


def test_an_interrupted_walk_keeps_what_was_answered(lab, capsys, monkeypatch) -> None:
    class Keyboard:
        """Two answers typed, then Ctrl-C at the next prompt."""

        lines = ["a\n", "admins are named\n"]

        def readline(self):
            if not self.lines:
                raise KeyboardInterrupt
            return self.lines.pop(0)

        def isatty(self):
            return True

    first = open_items(capsys)[0]["id"]
    monkeypatch.setattr(sys, "stdin", Keyboard())
    code, out, _ = run(capsys, "attest", "grafana", "--walk", "--by", "alice")
    assert code == 130
    assert "grafana: interrupted: 1 attested, 0 N/A, 0 skipped" in out
    assert book(lab).services["grafana"].items[first].note == "admins are named"
