"""Every subcommand, given each kind of bad input, exits 2 with a `labwarden:` line saying
what is wrong: never 0 (success), never 1 (which CI reads as findings), never a traceback.

The table runs in-process through `labwarden.cli.main`, as the console script does; a few
cases run in a subprocess to hold the real entry point to the same contract.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labwarden import cli

EXAMPLE = Path(__file__).parents[1] / "examples" / "homelab"


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Path:
    """A copy of the example lab beside the bad inputs the table names."""
    base = tmp_path_factory.mktemp("bad-input")
    root = base / "lab"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".labwarden", "records"))
    (base / "empty").mkdir()
    (base / "notes.txt").write_text("Notes, not a Compose file.\n")
    (base / "binary.sh").write_bytes(b"\x7fELF\x00\x00\x00" * 100)
    config = (root / "labwarden.yaml").read_text()
    (base / "bad.yaml").write_text(config.replace("policy:", "polciy:"))
    (base / "history-dir").mkdir()
    (base / "history-dir.yaml").write_text(config.replace(
        "history: .labwarden/history.db", f"history: {base / 'history-dir'}"))
    (base / "history-text.yaml").write_text(config.replace(
        "history: .labwarden/history.db", f"history: {base / 'notes.txt'}"))
    return root


def expand(argv: list[str], lab: Path) -> list[str]:
    base = lab.parent
    names = {"{lab}": lab, "{cfg}": lab / "labwarden.yaml", "{missing}": base / "missing",
             "{empty}": base / "empty", "{text}": base / "notes.txt",
             "{binary}": base / "binary.sh", "{bad}": base / "bad.yaml",
             "{history-dir}": base / "history-dir.yaml",
             "{history-text}": base / "history-text.yaml",
             "{compose}": lab / "n8n" / "compose.yaml"}
    out = []
    for word in argv:
        for name, path in names.items():
            word = word.replace(name, str(path))
        out.append(word)
    return out


# (subcommand's bad input, argv). Kinds: missing path, empty directory, a file that is not
# what the command reads, a directory where a file is expected, a bad configuration, a bad
# numeric or date argument, an unusable output path, names and runs that do not exist.
CASES = [
    ("audit missing path", "audit {missing}"),
    ("audit empty dir", "audit {empty}"),
    ("audit non-Compose file", "audit {text}"),
    ("audit -f directory", "audit -f {empty}"),
    ("audit bad config", "audit {lab} --config {bad}"),
    ("audit --config directory", "audit {lab} --config {empty}"),
    ("audit missing --env-file", "audit {lab} --env-file {missing}"),
    ("audit --env-file directory", "audit {lab} --env-file {empty}"),
    ("audit --jobs 1e23", "audit {lab} --jobs 1e23"),
    ("audit --jobs huge", "audit {lab} --jobs 100000000000000000000000"),
    ("audit --timeout nan", "audit tcp://127.0.0.1:9 --timeout nan"),
    ("audit --ports out of range", "audit tcp://127.0.0.1:9 --ports 99999"),
    ("audit -o directory", "audit {lab} -o {empty}"),
    ("audit --hosts without labwarden.yaml", "audit {empty} --hosts --no-config"),
    ("audit --hosts unknown group", "audit {lab} --hosts nope --config {cfg}"),
    ("audit --host-timeout 0", "audit {lab} --hosts --host-timeout 0"),
    ("collect over a file", "collect --output {text}"),
    ("collect into a missing folder", "collect --output {missing}/snap.tar.gz"),
    ("collect into a non-empty directory", "collect --output {lab}"),
    ("collect --timeout -1", "collect --timeout -1"),
    ("audit -o /dev/full", "audit {lab} -o /dev/full"),
    ("audit -o missing folder", "audit {lab} -o {missing}/report.json"),
    ("audit -o an input file", "audit {lab} -o {compose}"),
    ("audit -o the config", "audit {lab} -o {cfg}"),
    ("rules extra argument", "rules CMP010"),
    ("rule unknown", "rule NOPE999"),
    ("docs --output a file", "docs --output {text}"),
    ("checklist missing config", "checklist n8n --config {missing}"),
    ("checklist config directory", "checklist n8n --config {empty}"),
    ("checklist non-YAML config", "checklist n8n --config {text}"),
    ("checklist bad config", "checklist n8n --config {bad}"),
    ("checklist unknown service", "checklist nope --config {cfg}"),
    ("checklist unknown status", "checklist n8n --status FAL --config {cfg}"),
    ("checklist bad --today", "checklist n8n --config {cfg} --today 2026-13-45"),
    ("attest unknown item", "attest n8n 99.9 --by me --config {cfg}"),
    ("attest bad --expires", "attest n8n 1.2.2 --by me --expires soon --config {cfg}"),
    ("approve bad --date", "approve n8n --role service_owner --name a --date x --config {cfg}"),
    ("record bad --date", "record n8n --method manual --status success --date x "
                          "--config {cfg}"),
    ("gate bad config", "gate n8n --config {bad}"),
    ("archive name with /", "archive a/b --config {cfg}"),
    ("archive name with ..", "archive ../../x --config {cfg}"),
    ("history --limit 1e23", "history n8n --limit 1e23 --config {cfg}"),
    ("history --limit huge", "history n8n --limit 100000000000000000000000 --config {cfg}"),
    ("history --limit 0", "history n8n --limit 0 --config {cfg}"),
    ("history db is a directory", "history n8n --config {history-dir}"),
    ("history db is not a database", "history n8n --config {history-text}"),
    ("diff negative and huge runs", "diff --config {cfg} -- -1 1e21"),
    ("diff huge run", "diff --config {cfg} 1 1000000000000000000000"),
    ("diff runs that do not exist", "diff --config {cfg} 100 200"),
    ("diff one run", "diff --config {cfg} 1"),
    ("diff unknown service", "diff --config {cfg} --service nope"),
    ("diff db not a database", "diff --config {history-text} 1 2"),
    ("init missing path", "init {missing}"),
    ("init a file", "init {text}"),
    ("init empty dir", "init {empty}"),
    ("roadmap missing path", "roadmap {missing}"),
    ("roadmap empty dir", "roadmap {empty}"),
    ("roadmap non-Compose file", "roadmap {text}"),
    ("roadmap bad config", "roadmap {lab} --config {bad}"),
    ("fix missing path", "fix {missing}"),
    ("fix empty dir", "fix {empty}"),
    ("fix non-Compose file", "fix {text}"),
    ("fix bad config", "fix {lab} --config {bad}"),
    ("fix missing --env-file", "fix {lab} --env-file {missing}"),
    ("fix --digests directory", "fix {lab} --rule IMG001 --digests {empty}"),
    ("scripts missing path", "scripts {missing}"),
    ("scripts empty dir", "scripts {empty}"),
    ("scripts binary file", "scripts {binary}"),
    ("scripts bad config", "scripts {lab} --config {bad}"),
    ("scripts -o directory", "scripts {lab} -o {empty}"),
    ("backup verify unknown service", "backup verify nope --config {cfg}"),
    ("backup verify service without backups", "backup verify n8n --config {cfg}"),
    ("backup verify bad config", "backup verify n8n --config {bad}"),
    ("backup verify --timeout nan", "backup verify n8n --timeout nan --config {cfg}"),
    ("metrics missing lab", "metrics {missing}"),
    ("metrics folder without labwarden.yaml", "metrics {empty}"),
    ("metrics bad config", "metrics {bad}"),
    ("metrics history is a directory", "metrics {history-dir}"),
    ("metrics history is not a database", "metrics {history-text}"),
    ("metrics --listen without port", "metrics --listen 127.0.0.1 {lab}"),
    ("metrics --ttl 0", "metrics --ttl 0 {lab}"),
    ("serve --every without a unit", "serve {lab} --every 6 --port 0"),
    ("serve beyond loopback without users or token", "serve {lab} --host 0.0.0.0 --port 0"),
    ("serve a folder without labwarden.yaml", "serve {empty} --port 0"),
    ("serve a missing folder", "serve {missing} --port 0"),
    ("serve bad config", "serve --config {bad} --port 0"),
    ("serve --add-user bad name", "serve {lab} --add-user ../x --password-stdin"),
]


def run_in_process(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exc:     # argparse refuses the arguments
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_clear_error(code: int, out: str, err: str) -> None:
    assert code == 2, (code, out[-2000:], err)
    assert "Traceback" not in out + err
    said = [line for line in err.splitlines() if line.startswith("labwarden:")]
    assert len(said) == 1, err
    assert "internal error" not in said[0], said[0]     # each case is a known input error


@pytest.mark.parametrize("argv", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_line(lab: Path, argv: str, capsys, monkeypatch) -> None:
    monkeypatch.chdir(lab.parent)      # no labwarden.yaml found by accident
    assert_one_clear_error(*run_in_process(expand(argv.split(), lab), capsys))


def test_every_subcommand_is_in_the_table() -> None:
    commands = cli.build_parser()._subparsers._group_actions[0].choices
    assert set(commands) == {argv.split()[0] for _, argv in CASES}


def test_nothing_was_written_by_a_refused_run(lab: Path, capsys) -> None:
    compose = lab / "n8n" / "compose.yaml"
    before = compose.read_text()
    run_in_process(expand("audit {lab} -o {compose}".split(), lab), capsys)
    run_in_process(expand("archive ../../x --config {cfg}".split(), lab), capsys)
    assert compose.read_text() == before
    assert not (lab.parent / "missing").exists()
    assert not (lab.parent.parent / "x").exists()


def test_allow_partial_accepts_an_empty_directory(lab: Path, capsys) -> None:
    code, out, _ = run_in_process(["audit", str(lab.parent / "empty"), "--allow-partial"],
                                  capsys)
    assert code == 0 and "nothing-to-audit" in out


@pytest.mark.parametrize("argv", ["audit {empty}", "history n8n --limit 1e23 --config {cfg}",
                                  "diff --config {cfg} -- -1 1e21", "audit {lab} -o /dev/full",
                                  "init {missing}"])
def test_the_console_entry_point_keeps_the_contract(lab: Path, argv: str) -> None:
    result = subprocess.run([sys.executable, "-m", "labwarden", *expand(argv.split(), lab)],
                            capture_output=True, text=True, timeout=120, cwd=lab.parent)
    assert_one_clear_error(result.returncode, result.stdout, result.stderr)


# --- the last line of defence ---------------------------------------------------------------

SECRET = "hunter2-canary-5f1e"


def explode(args):
    raise RuntimeError(f"value {SECRET} broke it")


def test_an_unexpected_exception_exits_2_with_one_line_and_no_secret(capsys,
                                                                     monkeypatch) -> None:
    monkeypatch.delenv("LABWARDEN_DEBUG", raising=False)
    monkeypatch.setattr(cli, "cmd_audit", explode)
    code, out, err = run_in_process(["audit", f"ssh://root:{SECRET}@127.0.0.1", "stacks"],
                                    capsys)
    assert code == 2 and "Traceback" not in err and SECRET not in out + err
    [line] = err.splitlines()
    assert line.startswith("labwarden: internal error (RuntimeError at labwarden/")
    assert "`labwarden audit ssh://root:" in line and "stacks`" in line   # what it was given
    assert "LABWARDEN_DEBUG=1" in line


def test_labwarden_debug_shows_the_traceback(capsys, monkeypatch) -> None:
    monkeypatch.setenv("LABWARDEN_DEBUG", "1")
    monkeypatch.setattr(cli, "cmd_rules", explode)
    code, _, err = run_in_process(["rules"], capsys)
    assert code == 2 and "Traceback" in err and "RuntimeError" in err


def test_a_system_refusal_names_the_file_and_the_reason(capsys, monkeypatch) -> None:
    def refused(args):
        raise PermissionError(13, "Permission denied", "/srv/lab/compose.yaml")

    monkeypatch.setattr(cli, "cmd_rules", refused)
    code, _, err = run_in_process(["rules"], capsys)
    assert (code, err) == (2, "labwarden: /srv/lab/compose.yaml: Permission denied\n")
