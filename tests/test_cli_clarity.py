"""A clearer command line (issue 15): reports name each finding's service, the JSON report
has project and service fields, `-o` picks the format from its extension, the header names
what was audited.

In-process through `cli.main`, as the console entry point calls it: the parser, the audit
and the reporters are the real ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labwarden.cli import main
from labwarden.commands.output_format import format_of_path, output_format
from labwarden.report.subject import project_service, service_label

# Three services read one .env line holding a default password: three findings at the same
# place with the same text; only the service tells them apart. The project is named like
# one of its services (the directory `portainer`).
SHARED_ENV = """\
services:
  portainer:
    image: portainer/portainer-ce:2.21.0
    env_file: .env
  worker:
    image: portainer/portainer-ce:2.21.0
    env_file: .env
  cron:
    image: portainer/portainer-ce:2.21.0
    env_file: .env
"""


@pytest.fixture
def shared_env(tmp_path: Path, monkeypatch) -> Path:
    project = tmp_path / "portainer"
    project.mkdir()
    (project / "compose.yaml").write_text(SHARED_ENV)
    env = project / ".env"
    env.write_text("DB_PASSWORD=changeme\n")
    env.chmod(0o600)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def audit(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["audit", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _default_password_findings(document: dict) -> list[dict]:
    return [f for f in document["findings"] if f["location"]["path"].endswith(".env")
            and f["rule_id"] == "SEC002"]


# ----- the subject of a finding --------------------------------------------------------

@pytest.mark.parametrize("asset, expected", [
    ("compose:portainer/portainer", ("portainer", "portainer")),
    ("compose:portainer", ("portainer", None)),
    ("compose:paperless:.env", ("paperless", None)),
    ("compose:paperless:sub/app.env", ("paperless", None)),
    ("docker:app-host/paperless/db", ("paperless", "db")),
    ("docker:app-host/paperless-db-1", (None, None)),
    ("npm:proxy/paperless.lab.example", (None, None)),
    ("https://grafana.lab:443", (None, None)),
    ("compose-tree:/srv", (None, None)),
    ("", (None, None)),
])
def test_project_and_service_of_an_asset(asset, expected):
    assert project_service(asset) == expected


def test_service_label_only_for_a_service():
    assert service_label("compose:app/web") == "app/web"
    assert service_label("compose:app") == ""
    assert service_label("compose:app:.env") == ""


def test_json_names_project_and_service_in_fields_of_their_own(shared_env, capsys):
    code, out, _ = audit(capsys, ".", "--format", "json", "--no-config")
    assert code == 1
    document = json.loads(out)
    found = _default_password_findings(document)
    assert sorted(f["service"] for f in found) == ["cron", "portainer", "worker"]
    assert {f["project"] for f in found} == {"portainer"}
    for f in document["findings"]:
        assert (f["project"], f["service"]) == project_service(f["asset"])


# ----- terminal and Markdown reports name the service --------------------------------

def test_terminal_names_the_service_of_each_finding(shared_env, capsys):
    _, out, _ = audit(capsys, ".", "--no-color", "--no-config")
    heads = [line for line in out.splitlines() if "portainer/.env:1" in line
             and "SEC002" in line]
    assert len(heads) == 3
    assert sorted(h.split("service ")[1].split()[0] for h in heads) == \
        ["portainer/cron", "portainer/portainer", "portainer/worker"]


def test_markdown_names_the_service_of_each_finding(shared_env, capsys):
    _, out, _ = audit(capsys, ".", "--format", "markdown", "--no-config")
    assert "| ID | Title | Location | Service | Rule |" in out
    rows = [line for line in out.splitlines() if line.startswith("| CRITICAL-")
            and "portainer/.env:1" in line]
    assert sorted(row.split("|")[4].strip() for row in rows) == \
        ["`portainer/cron`", "`portainer/portainer`", "`portainer/worker`"]
    assert "- **Service:** `worker` (project `portainer`)" in out


# ----- -o picks the format from the extension -----------------------------------------

@pytest.mark.parametrize("name, fmt", [
    ("report.html", "html"), ("r.HTM", "html"), ("report.json", "json"),
    ("results.sarif", "sarif"), ("results.sarif.json", "sarif"), ("report.md", "markdown"),
    ("junit.xml", "junit"), ("report.txt", "terminal"), ("report", None), (".json", None),
    (None, None),
])
def test_format_of_a_report_file(name, fmt):
    assert format_of_path(name) == fmt


def test_an_explicit_format_wins_with_a_note():
    assert output_format(None, None) == ("terminal", None)
    assert output_format(None, "out/report.unknown") == ("terminal", None)
    assert output_format("sarif", "results.json") == ("sarif", None)   # a CI habit
    fmt, note = output_format("json", "report.html")
    assert fmt == "json" and "extension suggests html" in note


@pytest.mark.parametrize("name, starts", [
    ("report.html", "<!DOCTYPE html>"), ("report.json", '{"schema_version"'),
    ("report.sarif", '{"$schema"'), ("report.md", "# Security audit report"),
    ("report.xml", "<?xml"), ("report.txt", "labwarden audit of"),
])
def test_output_file_without_format_is_written_in_its_extensions_format(
        shared_env, capsys, name, starts):
    code, _, err = audit(capsys, ".", "--no-config", "-o", name)
    assert code == 1, err
    assert (shared_env / name).read_text(encoding="utf-8").lstrip().startswith(starts)


def test_explicit_format_wins_over_the_extension(shared_env, capsys):
    code, _, err = audit(capsys, ".", "--no-config", "--format", "json", "-o", "report.html")
    assert code == 1
    json.loads((shared_env / "report.html").read_text())
    assert "note: writing json to report.html" in err


# ----- the header names what was audited ---------------------------------------------

def test_header_names_compose_files_given_with_f(shared_env, capsys):
    _, out, _ = audit(capsys, "-f", "portainer/compose.yaml", "--no-color", "--no-config")
    assert out.splitlines()[0] == "labwarden audit of portainer/compose.yaml"
    _, out, _ = audit(capsys, "-f", "portainer/compose.yaml", "--format", "markdown",
                      "--no-config")
    assert "- **Targets:** `portainer/compose.yaml`" in out


def test_header_names_live_targets_with_their_password_redacted(tmp_path, capsys,
                                                                monkeypatch):
    monkeypatch.chdir(tmp_path)
    # Port 1 on loopback: nothing listens, the probe fails at once (exit 2, unreachable).
    code, out, err = audit(capsys, "https://admin:Hunter2Secret@127.0.0.1:1", "--timeout", "1",
                           "--no-color", "--no-config")
    assert code == 2
    head = out.splitlines()[0]
    assert head.startswith("labwarden audit of https://admin:") and "127.0.0.1:1" in head
    assert "(nothing)" not in out
    assert "Hunter2Secret" not in head and "Hunter2Secret" not in err


# ----- `scripts` given a YAML file ----------------------------------------------------

def _recording_shellcheck(tmp_path: Path) -> tuple[Path, Path]:
    """A stand-in ShellCheck executable that writes down the files it was given and finds
    nothing (ShellCheck is not installed everywhere the tests run)."""
    log = tmp_path / "shellcheck-args.log"
    binary = tmp_path / "shellcheck"
    binary.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" >> '{log}'\n"
                      "echo '{\"comments\": []}'\n")
    binary.chmod(0o755)
    return binary, log


def test_scripts_does_not_shellcheck_a_yaml_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "compose.yaml").write_text(SHARED_ENV)
    (tmp_path / "backup.cgi").write_text("#!/bin/sh\nset -eu\necho done\n")
    (tmp_path / "deploy.sh").write_text("#!/bin/bash\nset -euo pipefail\necho deploy\n")
    binary, log = _recording_shellcheck(tmp_path)
    code = main(["scripts", "compose.yaml", "backup.cgi", "deploy.sh", "--compose", ".",
                 "--shellcheck", str(binary), "--format", "json", "--no-config"])
    document = json.loads(capsys.readouterr().out)
    checked = log.read_text().splitlines()
    assert any(arg.endswith("deploy.sh") for arg in checked)
    assert any(arg.endswith("backup.cgi") for arg in checked)     # a shell shebang counts
    assert not any(arg.endswith("compose.yaml") for arg in checked)
    assert document["summary"]["files_scanned"] == 2
    notes = [d for d in document["diagnostics"] if d["code"] == "not-a-shell-script"]
    assert [d["location"]["path"] for d in notes] == ["compose.yaml"]
    assert code == 0


def test_scripts_given_only_yaml_checks_nothing_and_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "compose.yaml").write_text(SHARED_ENV)
    binary, log = _recording_shellcheck(tmp_path)
    code = main(["scripts", "compose.yaml", "--compose", ".", "--shellcheck", str(binary),
                 "--no-color", "--no-config"])
    out, err = capsys.readouterr()
    assert not log.exists()
    assert code == 2 and "not-a-shell-script" in out and "nothing-to-audit" in err


# ----- waivers in partial audits ------------------------------------------------------

PRIVILEGED = """\
services:
  {service}:
    image: nginx:1.27.3
    privileged: true
"""

WAIVERS = """\
waivers:
  - rule: CMP010
    scope: {service: "alpha/web"}
    justification: alpha's web needs it
    owner: ann
    expires: 2099-01-01
  - rule: CMP010
    scope: {service: "beta/api"}
    justification: beta's api needs it
    owner: bob
    expires: 2099-01-01
  - rule: CMP010
    scope: {service: "alpha/retired"}
    justification: a service removed from alpha since
    owner: ann
    expires: 2099-01-01
  - rule: CMP050
    scope: {service: "gamma/*"}
    justification: gamma was deleted from the lab
    owner: cid
    expires: 2099-01-01
  - rule: CMP010
    scope: {service: "beta/old"}
    justification: expired long ago
    owner: dan
    expires: 2020-01-01
  - rule: SCR001
    justification: a scripts rule, which a Compose audit does not run
    owner: eve
    expires: 2099-01-01
"""


@pytest.fixture
def waived_lab(tmp_path: Path, monkeypatch) -> Path:
    for project, service in (("alpha", "web"), ("beta", "api")):
        (tmp_path / project).mkdir()
        (tmp_path / project / "compose.yaml").write_text(PRIVILEGED.format(service=service))
    (tmp_path / "labwarden.yaml").write_text(WAIVERS)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _waiver_notes(capsys, *args: str) -> dict[str, list[int]]:
    main(["audit", *args, "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    notes: dict[str, list[int]] = {}
    for d in document["diagnostics"]:
        if d["code"] in ("unused-waiver", "waiver-expired"):
            notes.setdefault(d["code"], []).append(d["location"]["line"])
    return notes


def test_whole_audit_reports_unused_and_expired_waivers(waived_lab, capsys):
    # Lines: 2 alpha/web, 7 beta/api, 12 alpha/retired, 17 gamma/*, 22 beta/old (expired),
    # 27 SCR001 (a rule a Compose audit does not run: not judged here).
    assert _waiver_notes(capsys, ".") == {"unused-waiver": [12, 17], "waiver-expired": [22]}


def test_one_project_does_not_call_other_projects_waivers_unused(waived_lab, capsys):
    # beta's and gamma's waivers are not judged by an audit of alpha; alpha's own stale
    # one is; the expired one is expired whatever was audited.
    assert _waiver_notes(capsys, "alpha") == {"unused-waiver": [12], "waiver-expired": [22]}


@pytest.mark.parametrize("args", [("-f", "beta/compose.yaml"), ("beta/compose.yaml",)],
                         ids=["-f", "pre-commit"])
def test_compose_files_given_alone_are_a_partial_audit(waived_lab, capsys, args):
    # `-f FILE`, and the pre-commit hook's `labwarden audit CHANGED_FILE…`.
    assert _waiver_notes(capsys, *args, "--config", "labwarden.yaml") == \
        {"waiver-expired": [22]}


# ----- --min-severity and --compact ----------------------------------------------------

def test_min_severity_hides_lower_findings_but_not_from_the_exit_code(shared_env, capsys):
    _, full, _ = audit(capsys, ".", "--format", "json", "--no-config")
    everything = json.loads(full)
    severities = {f["severity"] for f in everything["findings"]}
    assert {"CRITICAL", "MEDIUM"} <= severities         # the lab has both, or this is moot
    code, out, _ = audit(capsys, ".", "--format", "json", "--no-config",
                         "--min-severity", "critical")
    document = json.loads(out)
    assert code == 1
    assert {f["severity"] for f in document["findings"]} == {"CRITICAL"}
    assert document["summary"] == everything["summary"]   # counts still count everything
    hidden = len(everything["findings"]) - len(document["findings"])
    note = next(d for d in document["diagnostics"] if d["code"] == "findings-hidden")
    assert note["message"].startswith(f"{hidden} findings below CRITICAL not shown")


def test_min_severity_cannot_loosen_the_gate(tmp_path, capsys, monkeypatch):
    # A HIGH finding only (a published admin port), hidden by --min-severity critical: the
    # default --fail-on high still fails the run, and the note says why.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "compose.yaml").write_text(
        "services:\n  pf:\n    image: portainer/portainer-ce:2.21.0\n"
        "    ports: ['9443:9443']\n")
    code, out, _ = audit(capsys, ".", "--no-config", "--no-color", "--min-severity",
                         "critical")
    assert "HIGH-001" not in out and "No findings at the severity shown" in out
    assert code == 1
    assert "still count for the exit code (--fail-on high)" in " ".join(out.split())
    code, _, _ = audit(capsys, ".", "--no-config", "--min-severity", "critical",
                       "--fail-on", "critical")
    assert code == 0


def test_compact_terminal_is_one_line_per_finding(shared_env, capsys):
    _, full, _ = audit(capsys, ".", "--no-config", "--format", "json")
    ids = [f["id"] for f in json.loads(full)["findings"]]
    code, out, _ = audit(capsys, ".", "--no-config", "--no-color", "--compact")
    assert code == 1
    for finding_id in ids:
        lines = [line for line in out.splitlines() if line.startswith(f"  {finding_id}  ")]
        assert len(lines) == 1, finding_id
        assert len(lines[0]) <= 100
    assert "evidence:" not in out and "fix:" not in out
    assert "portainer/.env:1  portainer/worker  SEC002" in out
    assert out.rstrip().splitlines()[-1].startswith("Summary: ")


def test_compact_markdown_has_the_table_without_sections(shared_env, capsys):
    _, out, _ = audit(capsys, ".", "--no-config", "--format", "markdown", "--compact")
    assert "| ID | Title | Location | Service | Rule |" in out
    assert "### CRITICAL-001" not in out and "**Fix:**" not in out


def test_compact_refuses_a_machine_format(shared_env, capsys):
    code, _, err = audit(capsys, ".", "--no-config", "--format", "json", "--compact")
    assert code == 2
    assert err.strip() == ("labwarden: --compact applies to the terminal and markdown "
                           "formats, not --format json")


# ----- a snippet shared by several services is shown once -------------------------------

def _blocks(text: str) -> dict[str, str]:
    """Each terminal finding's block by its ID."""
    blocks: dict[str, str] = {}
    for block in text.split("\n\n"):
        head = block.lstrip("\n").split("\n", 1)[0].split()
        if head and head[0].startswith(("CRITICAL-", "HIGH-", "MEDIUM-", "LOW-", "INFO-")):
            blocks[head[0]] = block
    return blocks


def test_terminal_shows_a_shared_hardening_snippet_once(shared_env, capsys):
    _, out, _ = audit(capsys, ".", "--no-config", "--no-color")
    hardening = {fid: block for fid, block in _blocks(out).items() if "CMP012" in block}
    assert len(hardening) == 3
    with_snippet = [fid for fid, block in hardening.items() if "cap_drop:\n" in block]
    assert len(with_snippet) == 1
    first = with_snippet[0]
    others = sorted(set(hardening) - {first})
    assert ("same fix for: " + ", ".join(
        f"{fid} (portainer/{hardening[fid].split('service portainer/')[1].split()[0]})"
        for fid in others)) in " ".join(hardening[first].split()).replace(" ,", ",")
    for fid in others:
        assert f"fix: the same snippet as {first} (portainer/portainer)" in hardening[fid]
    # one-line fixes stay where they are
    assert out.count("fix: set `DB_PASSWORD` to a random value") == 3


def test_markdown_shows_a_shared_hardening_snippet_once(shared_env, capsys):
    _, out, _ = audit(capsys, ".", "--no-config", "--format", "markdown")
    sections = {part.split(":", 1)[0]: part for part in out.split("\n### ")[1:]}
    hardening = {fid: text for fid, text in sections.items()
                 if "CMP012" in text and fid.startswith("MEDIUM-")}
    assert len(hardening) == 3
    assert sum("\ncap_drop:\n  - ALL" in text for text in hardening.values()) == 1
    first = next(fid for fid, text in hardening.items() if "\ncap_drop:\n  - ALL" in text)
    assert "The same fix applies to: " in hardening[first]
    for fid in set(hardening) - {first}:
        assert f"**Fix:** the same as {first} (portainer/portainer) above." in hardening[fid]


# ----- --help: every option described; did-you-mean for rules ------------------------

# Options hidden from --help on purpose: a test hook and a retired flag that now explains
# itself as a usage error.
HIDDEN = {("archive", "--overwrite")} | {(command, "--today") for command in (
    "checklist", "approve", "record", "gate", "archive", "history", "attest", "serve")}


def _commands():
    """(command words, parser) for every subcommand, nested ones too (`backup verify`)."""
    import argparse

    from labwarden.cli import build_parser

    def walk(parser, words):
        yield words, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, words + [name])

    return list(walk(build_parser(), []))


def test_every_subcommand_is_walked():
    names = {" ".join(words) for words, _ in _commands()}
    assert {"audit", "scripts", "rule", "checklist", "history", "roadmap",
            "backup verify", "attest", "docs"} <= names


def test_every_option_of_every_subcommand_has_help_text():
    import argparse

    missing = []
    for words, parser in _commands():
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._VersionAction,
                                   argparse._SubParsersAction)):
                continue
            name = (action.option_strings or [action.dest])[-1]
            key = (" ".join(words), name)
            if action.help == argparse.SUPPRESS:
                assert key in HIDDEN, f"{key} is hidden from --help"
            elif not (action.help or "").strip():
                missing.append(f"labwarden {key[0]} {key[1]}")
    assert not missing, "options without help text:\n" + "\n".join(missing)


def test_help_shows_only_options_that_apply():
    parsers = {" ".join(words): parser for words, parser in _commands()}
    # history reads the history store: it probes nothing
    history = parsers["history"].format_help()
    assert "--live" not in history and "--ca-file" not in history
    assert "--live" in parsers["checklist"].format_help()
    audit_help = parsers["audit"].format_help()
    for option in ("--min-severity", "--compact", "--format", "--ssh-known-hosts"):
        assert option in audit_help


def test_help_of_every_subcommand_renders(capsys):
    for words, _ in _commands():
        with pytest.raises(SystemExit) as exited:
            main([*words, "--help"])
        assert exited.value.code == 0, words
        assert "usage: labwarden" in capsys.readouterr().out


@pytest.mark.parametrize("ref, first", [
    ("COMP01", "CMP001"), ("cmp-10", "CMP010"), ("sec02", "SEC002"),
    ("privileged-containr", "CMP010"), ("docker-socket", "CMP050"),
])
def test_rule_did_you_mean(ref, first, capsys):
    assert main(["rule", ref]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"labwarden: no rule {ref!r}; did you mean ")
    assert err.split("did you mean ", 1)[1].startswith(first)


def test_rule_without_anything_close_points_to_the_list(capsys):
    assert main(["rule", "XYZ999"]) == 2
    assert capsys.readouterr().err == ("labwarden: no rule 'XYZ999'; `labwarden rules` "
                                       "lists them\n")


def test_waiver_naming_no_rule_suggests_one(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "compose.yaml").write_text(SHARED_ENV)
    (tmp_path / "labwarden.yaml").write_text(
        "waivers:\n  - rule: privileged-containers\n    justification: j\n    owner: o\n"
        "    expires: 2099-01-01\n")
    code, _, err = audit(capsys, ".")
    assert code == 2
    assert "labwarden.yaml:2" in err
    assert "'privileged-containers'; did you mean CMP010 (privileged-container)" in err


def test_compact_with_min_severity_says_what_it_left_out(shared_env, capsys):
    _, out, _ = audit(capsys, ".", "--no-config", "--no-color", "--compact",
                      "--min-severity", "critical")
    assert "MEDIUM-001" not in out and "CRITICAL-001" in out
    note = next(line for line in out.splitlines() if line.startswith("notes (1): "))
    assert note.startswith("notes (1): findings-hidden: ")
    assert "below CRITICAL not shown" in " ".join(out.split())


def test_min_severity_keeps_waived_findings_listed(waived_lab, capsys):
    # A waived LOW finding (no resource limits) stays listed under --min-severity high;
    # the active LOW ones are left out.
    (waived_lab / "labwarden.yaml").write_text(
        "waivers:\n  - rule: resource-limits-missing\n    scope: {service: alpha/web}\n"
        "    justification: sized by the host\n    owner: ann\n    expires: 2099-01-01\n")
    main(["audit", ".", "--format", "json", "--min-severity", "high"])
    document = json.loads(capsys.readouterr().out)
    waived = [f for f in document["findings"] if f["waived"]]
    assert [(f["rule_id"], f["severity"], f["service"]) for f in waived] == \
        [("CMP070", "LOW", "web")]
    assert {f["severity"] for f in document["findings"] if not f["waived"]} <= \
        {"CRITICAL", "HIGH"}
    assert document["summary"]["waived"] == 1 and document["summary"]["low"] >= 1


def test_sarif_results_name_project_and_service(shared_env, capsys):
    _, out, _ = audit(capsys, ".", "--no-config", "--format", "sarif")
    results = json.loads(out)["runs"][0]["results"]
    env = [r["properties"] for r in results if r["ruleId"] == "SEC002"]
    assert sorted(p["service"] for p in env) == ["cron", "portainer", "worker"]
    assert {p["project"] for p in env} == {"portainer"}


SCRIPT_WAIVERS = """\
version: 1
waivers:
  - rule: SCR001
    scope: {path: "scripts/gone.sh"}
    justification: a script deleted since
    owner: ann
    expires: 2099-01-01
"""


@pytest.mark.parametrize("args, unused", [((".",), [3]),
                                          (("scripts/ok.sh",), [])],
                         ids=["whole-lab", "one-script"])
def test_scripts_checked_alone_do_not_call_other_scripts_waivers_unused(
        tmp_path, capsys, monkeypatch, args, unused):
    # The pre-commit hook checks the scripts a commit changed: a waiver for another script
    # is not stale for it. Checking the lab's scripts folder still finds the stale one.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "labwarden.yaml").write_text(SCRIPT_WAIVERS)
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "ok.sh").write_text("#!/bin/sh\necho ok\n")
    main(["scripts", *args, "--config", "labwarden.yaml", "--no-shellcheck",
          "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    assert [d["location"]["line"] for d in document["diagnostics"]
            if d["code"] == "unused-waiver"] == unused


def test_fix_rule_gets_a_did_you_mean_too(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "compose.yaml").write_text("services:\n  a:\n    image: nginx:1.27\n")
    assert main(["fix", ".", "--rule", "NET0001", "--no-config"]) == 2
    assert "did you mean NET001 (port-on-all-interfaces)" in capsys.readouterr().err
