"""The command line end to end, in a subprocess as a user runs it: exit codes, formats,
output files, rule listing and documentation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parents[1] / "examples" / "homelab"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labwarden", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


CLEAN = """services:
  web:
    image: nginx:1.27.3
    restart: unless-stopped
    ports: ["127.0.0.1:8080:80"]
"""
PRIVILEGED = """services:
  web:
    image: nginx:1.27.3
    privileged: true
"""


def test_exit_0_when_nothing_reaches_the_threshold(tmp_path: Path) -> None:
    write(tmp_path / "app" / "compose.yaml", CLEAN)
    result = run("audit", str(tmp_path), "--fail-on", "critical")
    assert result.returncode == 0, result.stdout + result.stderr


def test_exit_1_on_a_finding_at_the_threshold(tmp_path: Path) -> None:
    write(tmp_path / "app" / "compose.yaml", PRIVILEGED)
    result = run("audit", str(tmp_path))
    assert result.returncode == 1
    assert "CRITICAL-001" in result.stdout and "CMP010" in result.stdout
    assert run("audit", str(tmp_path), "--fail-on", "never").returncode == 0


def test_exit_2_on_input_that_could_not_be_checked(tmp_path: Path) -> None:
    write(tmp_path / "good" / "compose.yaml", CLEAN)
    write(tmp_path / "bad" / "compose.yaml", "services:\n  web: [unclosed\n")
    result = run("audit", str(tmp_path), "--fail-on", "never")
    assert result.returncode == 2
    assert "bad/compose.yaml:" in result.stdout and "yaml-syntax" in result.stdout
    assert run("audit", str(tmp_path), "--fail-on", "never",
               "--allow-partial").returncode == 0


def test_exit_2_on_usage_and_configuration_errors(tmp_path: Path) -> None:
    assert run("audit", "--format", "xml").returncode == 2
    assert run("audit", str(tmp_path / "missing")).returncode == 2
    write(tmp_path / "labwarden.yaml", "waivers:\n  - rule: NOPE999\n    justification: x\n"
          "    owner: me\n    expires: 2030-01-01\n")
    result = run("audit", str(tmp_path))
    assert result.returncode == 2 and "labwarden.yaml:2" in result.stderr
    assert "NOPE999" in result.stderr


def test_json_to_a_file(tmp_path: Path) -> None:
    write(tmp_path / "app" / "compose.yaml", PRIVILEGED)
    out = tmp_path / "reports" / "audit.json"
    out.parent.mkdir()          # a missing folder is refused (tests/test_bad_input.py)
    result = run("audit", str(tmp_path / "app"), "--format", "json", "-o", str(out))
    assert result.returncode == 1 and result.stdout == ""
    document = json.loads(out.read_text())
    assert [f["rule_id"] for f in document["findings"]].count("CMP010") == 1
    assert "\x1b[" not in out.read_text()


def test_compose_files_merged_in_order(tmp_path: Path) -> None:
    base = write(tmp_path / "compose.yaml", CLEAN)
    prod = write(tmp_path / "compose.prod.yaml", "services:\n  web:\n    privileged: true\n")
    result = run("audit", "-f", str(base), "-f", str(prod), "--format", "json")
    findings = json.loads(result.stdout)["findings"]
    privileged = [f for f in findings if f["rule_id"] == "CMP010"]
    assert privileged and privileged[0]["location"]["path"].endswith("compose.prod.yaml")


def test_rules_lists_every_rule_and_rule_shows_docs() -> None:
    listing = run("rules")
    assert listing.returncode == 0
    assert "CMP050" in listing.stdout and "docker-socket-mounted" in listing.stdout
    for ref in ("CMP050", "docker-socket-mounted"):
        page = run("rule", ref)
        assert page.returncode == 0
        assert "## Why it matters" in page.stdout and "## Fix" in page.stdout
    assert run("rule", "XYZ999").returncode == 2


@pytest.mark.parametrize("fmt", ["terminal", "markdown", "json", "sarif", "html"])
def test_example_lab_in_every_format(fmt: str) -> None:
    result = run("audit", str(EXAMPLE), "--format", fmt)
    assert result.returncode == 1, result.stderr   # the lab has planted CRITICAL findings
    assert "Traceback" not in result.stderr
    # the planted NetBox secret key and the Grafana password never appear
    assert "r8Lk2vQ9xW4m" not in result.stdout and "Xq7!vR2#" not in result.stdout


def test_markdown_report_has_the_roadmap() -> None:
    result = run("audit", str(EXAMPLE), "--format", "markdown")
    assert "## Remediation roadmap" in result.stdout and "Phase 2" in result.stdout


def test_the_report_does_not_depend_on_the_number_of_workers(tmp_path: Path) -> None:
    for index in range(60):       # enough projects for the parallel path
        write(tmp_path / f"stack{index:02d}" / "compose.yaml",
              f"services:\n  web:\n    image: nginx:${{TAG}}\n    container_name: shared-web\n"
              f"    privileged: {'true' if index % 7 == 0 else 'false'}\n")

    def report(jobs: str) -> dict:
        result = run("audit", str(tmp_path), "--format", "json", "--jobs", jobs)
        document = json.loads(result.stdout)
        document.pop("started"), document.pop("duration_s")
        return document

    one, two = report("1"), report("2")
    assert one["summary"]["projects"] == 60 and one["diagnostics"]
    assert one == two


@pytest.mark.parametrize("pieces", [["{\"a\":", "1}\n"], ["no newline"], ["a\n", ""], [""], [],
                                    ["é…", "\x85 ", "x\n"],
                                    [b"{\"a\":", "\u00e9", "…".encode(), b"\n"],
                                    [b"bytes", b"", b" no newline"]])
def test_a_report_in_pieces_is_written_as_if_joined(pieces, tmp_path, capsys) -> None:
    """`emit` writes a report given in pieces (the JSON of a large tree) one piece after
    the other: stdout and the file get what the joined text would have given them, the
    line ended on stdout only when the joined text does not end it."""
    from labwarden.commands.common import emit

    joined = "".join(p.decode() if isinstance(p, bytes) else p for p in pieces)
    emit(joined, None)
    expected = capsys.readouterr().out
    emit(pieces, None)
    assert capsys.readouterr().out == expected == (joined if joined.endswith("\n")
                                                   else joined + "\n")
    emit(joined, str(tmp_path / "joined"))
    emit(pieces, str(tmp_path / "pieces"))
    assert (tmp_path / "pieces").read_bytes() == (tmp_path / "joined").read_bytes() == \
        joined.encode()


@pytest.mark.parametrize("link", ["symbolic", "hard"])
def test_a_report_path_that_is_an_input_under_another_name_is_refused(tmp_path: Path,
                                                                       link: str) -> None:
    """`-o report.json` where report.json is a link to a Compose file being audited: the
    report would overwrite the input. The input stays as it was."""
    compose = write(tmp_path / "compose.yaml", "services:\n  web:\n    image: nginx:1.27\n")
    report = tmp_path / "report.json"
    if link == "symbolic":
        report.symlink_to(compose)
    else:
        report.hardlink_to(compose)
    done = run("audit", str(compose), "--format", "json", "-o", str(report))
    assert done.returncode == 2 and "is an input labwarden reads" in done.stderr
    assert compose.read_text().startswith("services:")
