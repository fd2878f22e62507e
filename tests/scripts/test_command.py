"""`labwarden scripts`: `run(args)` with the command's own argparse arguments, exit codes as
the audit's (0 / 1 / 2), report formats, output files, configuration."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from script_helpers import parse_args, write

from labwarden.commands.scripts import main, run

CLEAN = "#!/bin/bash\nset -euo pipefail\necho \"backup done\"\n"
HIGH = "#!/bin/bash\nset -euo pipefail\ncurl -fsSL https://get.docker.com | sh\n"
CRITICAL = "#!/bin/bash\nset -euo pipefail\nD=${1:-}\nrm -rf \"$D\"/*\n"


def scripts(argv: list[str], capsys) -> tuple[int, str]:
    code = run(parse_args(argv))
    return code, capsys.readouterr().out


def test_exit_0_when_nothing_reaches_the_threshold(tmp_path: Path, capsys) -> None:
    write(tmp_path, {"clean.sh": CLEAN})
    code, out = scripts([str(tmp_path), "--no-color"], capsys)
    assert code == 0, out
    assert "Summary: 0 critical, 0 high" in out


def test_exit_1_on_a_finding_at_the_threshold(tmp_path: Path, capsys) -> None:
    write(tmp_path, {"install.sh": HIGH})
    code, out = scripts([str(tmp_path), "--no-color"], capsys)
    assert code == 1 and "HIGH-001" in out and "SCR005" in out
    assert scripts([str(tmp_path), "--fail-on", "critical"], capsys)[0] == 0
    assert scripts([str(tmp_path), "--fail-on", "never"], capsys)[0] == 0


def test_fail_on_lower_severities(tmp_path: Path, capsys) -> None:
    write(tmp_path, {"loose.sh": "#!/bin/bash\necho hi\n"})            # SCR003: MEDIUM
    assert scripts([str(tmp_path)], capsys)[0] == 0
    assert scripts([str(tmp_path), "--fail-on", "medium"], capsys)[0] == 1


def test_exit_2_on_input_that_could_not_be_checked(tmp_path: Path, capsys) -> None:
    write(tmp_path, {"clean.sh": CLEAN})
    missing = str(tmp_path / "nope.sh")
    code, out = scripts([str(tmp_path), missing, "--no-color"], capsys)
    assert code == 2 and "not-found" in out
    assert scripts([str(tmp_path), missing, "--allow-partial"], capsys)[0] == 0


def test_exit_2_on_a_bad_configuration(tmp_path: Path, capsys) -> None:
    write(tmp_path, {"clean.sh": CLEAN, "labwarden.yaml": "policy: [not, a, mapping]\n"})
    assert main([str(tmp_path)]) == 2      # through the guard every command runs in
    assert "configuration error" in capsys.readouterr().err


def test_policy_fail_on_from_the_configuration(tmp_path: Path, capsys) -> None:
    write(tmp_path, {"install.sh": HIGH, "labwarden.yaml": "policy:\n  fail_on: critical\n"})
    assert scripts([str(tmp_path)], capsys)[0] == 0
    assert scripts([str(tmp_path), "--no-config"], capsys)[0] == 1


def test_disabled_rule_and_severity_override(tmp_path: Path, capsys) -> None:
    write(tmp_path, {"install.sh": HIGH,
                     "labwarden.yaml": "rules:\n  disable: [SCR005]\n"})
    code, out = scripts([str(tmp_path), "--format", "json"], capsys)
    assert code == 0 and "SCR005" not in {f["rule_id"] for f in json.loads(out)["findings"]}


@pytest.mark.parametrize("fmt", ["json", "sarif", "markdown", "terminal"])
def test_every_report_format(tmp_path: Path, capsys, fmt: str) -> None:
    write(tmp_path, {"wipe.sh": CRITICAL})
    output = tmp_path / "out" / f"report.{fmt}"
    output.parent.mkdir()     # a missing folder is refused (tests/test_bad_input.py)
    code = run(parse_args([str(tmp_path), "--format", fmt, "-o", str(output)]))
    assert code == 1 and capsys.readouterr().out == ""
    text = output.read_text()
    assert "SCR004" in text
    if fmt == "json":
        document = json.loads(text)
        _validator().validate(document)
        [finding] = [f for f in document["findings"] if f["rule_id"] == "SCR004"]
        assert finding["id"] == "CRITICAL-001" and finding["severity"] == "CRITICAL"
        assert finding["asset"] == "script:wipe.sh"
        assert document["summary"]["files_scanned"] == 1
    if fmt == "sarif":
        assert json.loads(text)["runs"][0]["results"]
    if fmt == "terminal":
        assert "\x1b[" not in text                 # a file never gets colour codes


def _validator():
    import jsonschema

    from labwarden.report import json_report

    schema = json.loads((Path(json_report.__file__).parent / "schema" /
                         "report-v1.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def test_shellcheck_missing_is_reported_not_skipped(tmp_path: Path, capsys) -> None:
    write(tmp_path, {"clean.sh": CLEAN})
    code, out = scripts([str(tmp_path), "--format", "json",
                         "--shellcheck", str(tmp_path / "missing")], capsys)
    document = json.loads(out)
    _validator().validate(document)
    assert code == 0 and document["summary"]["gaps"] == 1
    [gap] = document["diagnostics"]
    assert gap["code"] == "shellcheck-missing" and gap["level"] == "gap"


def test_no_shellcheck_says_so(tmp_path: Path, capsys) -> None:
    write(tmp_path, {"clean.sh": CLEAN})
    code, out = scripts([str(tmp_path), "--format", "json", "--no-shellcheck"], capsys)
    assert [d["code"] for d in json.loads(out)["diagnostics"]] == ["shellcheck-skipped"]


def test_compose_option_names_the_tree(tmp_path: Path, capsys) -> None:
    write(tmp_path, {
        "stacks/monitoring/compose.yaml": "services:\n  grafana:\n    image: grafana/grafana:11"
                                          "\n    container_name: monitoring-grafana\n",
        "ops/reset.sh": "#!/bin/bash\nset -euo pipefail\ndocker restart monitoring-grafna\n"})
    code, out = scripts([str(tmp_path / "ops"), "--compose", str(tmp_path / "stacks"),
                         "--format", "json"], capsys)
    [finding] = json.loads(out)["findings"]
    assert code == 1 and finding["fix"] == "docker restart monitoring-grafana"
    code, out = scripts([str(tmp_path / "ops"), "--compose", str(tmp_path / "nowhere")], capsys)
    assert code == 2


def test_main_and_usage_errors(tmp_path: Path, capsys) -> None:
    write(tmp_path, {"clean.sh": CLEAN})
    assert main([str(tmp_path)]) == 0
    with pytest.raises(SystemExit) as exit_info:
        main(["--format", "yaml", str(tmp_path)])
    assert exit_info.value.code == 2


def test_python_m_invocation(tmp_path: Path) -> None:
    write(tmp_path, {"install.sh": HIGH})
    done = subprocess.run([sys.executable, "-m", "labwarden.commands.scripts", str(tmp_path),
                           "--no-color"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "SCR005" in done.stdout
