"""What every format must do: list every finding by its ID, count right, mark waived
findings, never show a secret; and the package's interface and import costs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from labwarden.report import FORMATS, render

ALL_FORMATS = list(FORMATS)


def outputs(result) -> dict[str, str]:
    return {fmt: render(result, fmt, color=False, width=100) for fmt in FORMATS}


def test_interface():
    assert FORMATS == ("terminal", "json", "sarif", "markdown", "html", "junit")
    with pytest.raises(ValueError, match="unknown report format"):
        render(None, "pdf")


def test_the_lab_audit_has_what_the_tests_rely_on(lab):
    """Guards the tree itself, through the one rule sure to exist (CMP001)."""
    cmp001 = [f for f in lab.result.findings if f.rule.id == "CMP001"]
    kinds = sorted((f.suppression.kind if f.suppression else "active") for f in cmp001)
    assert kinds.count("active") >= 2          # read-only, cpu-shares
    assert "inline" in kinds and "waiver" in kinds
    assert any(d.level == "error" for d in lab.result.diagnostics)   # broken/compose.yaml
    ids = [f.id for f in lab.result.findings]
    assert len(ids) == len(set(ids)) and all(ids)


@pytest.mark.parametrize("source", ["lab", "crafted", "empty"])
def test_every_format_lists_every_finding_id(source, request):
    result = request.getfixturevalue(source)
    result = result.result if hasattr(result, "result") else result
    for fmt, text in outputs(result).items():
        for finding in result.findings:
            assert finding.id in text, f"{finding.id} missing from {fmt}"


@pytest.mark.parametrize("source", ["lab", "crafted"])
def test_no_planted_secret_in_any_format(source, request, planted_secrets):
    result = request.getfixturevalue(source)
    result = result.result if hasattr(result, "result") else result
    texts = outputs(result)
    texts["terminal-color"] = render(result, "terminal", color=True, width=100)
    for fmt, text in texts.items():
        for secret in planted_secrets:
            assert secret not in text, f"{fmt} shows a planted secret"
            # not even most of it
            assert secret[2:14] not in text, f"{fmt} shows part of a planted secret"


@pytest.mark.parametrize("source", ["lab", "crafted"])
def test_waived_findings_are_marked_in_every_format(source, request):
    result = request.getfixturevalue(source)
    result = result.result if hasattr(result, "result") else result
    waived = [f for f in result.findings if f.waived]
    assert waived
    texts = outputs(result)
    for f in waived:
        assert f.id.startswith("WAIVED-")
        assert f.suppression.justification in texts["terminal"]
        assert f.suppression.justification.replace("|", "\\|") in texts["markdown"] \
            or f.suppression.justification in texts["markdown"]
    data = json.loads(texts["json"])
    by_id = {f["id"]: f for f in data["findings"]}
    sarif = json.loads(texts["sarif"])["runs"][0]["results"]
    sarif_by_id = {r["properties"]["labwardenId"]: r for r in sarif}
    for f in result.findings:
        assert by_id[f.id]["waived"] is f.waived
        assert ("suppressions" in sarif_by_id[f.id]) is f.waived
        if f.waived:
            kind = {"inline": "inSource", "waiver": "external"}[f.suppression.kind]
            assert sarif_by_id[f.id]["suppressions"][0]["kind"] == kind
            assert sarif_by_id[f.id]["suppressions"][0]["status"] == "accepted"
            assert by_id[f.id]["suppression"]["kind"] == f.suppression.kind
    # waivers name who accepted and until when, in the human formats
    for f in waived:
        if f.suppression.kind == "waiver":
            for fmt in ("terminal", "markdown"):
                assert f.suppression.owner in texts[fmt]
                assert f.suppression.expires in texts[fmt]


@pytest.mark.parametrize("source", ["lab", "crafted", "empty"])
def test_counts_agree_across_formats(source, request):
    result = request.getfixturevalue(source)
    result = result.result if hasattr(result, "result") else result
    counts = {s.name: n for s, n in result.counts().items()}
    n_waived = sum(1 for f in result.findings if f.waived)
    texts = outputs(result)

    summary = json.loads(texts["json"])["summary"]
    assert {k.upper(): summary[k.lower()] for k in counts} == counts
    assert summary["waived"] == n_waived
    assert summary["total"] == sum(counts.values())

    run = json.loads(texts["sarif"])["runs"][0]
    assert len(run["results"]) == len(result.findings)
    assert sum(1 for r in run["results"] if "suppressions" in r) == n_waived

    summary_line = [line for line in texts["terminal"].splitlines()
                    if line.startswith("Summary:")]
    assert len(summary_line) == 1
    for name, n in counts.items():
        assert f"{n} {name.lower()}" in summary_line[0]
    assert f"{n_waived} waived" in summary_line[0]


def test_import_of_the_package_is_light():
    code = textwrap.dedent("""
        import sys
        import labwarden.report
        heavy = [m for m in ("rich", "jinja2", "jsonschema") if m in sys.modules]
        assert not heavy, heavy
    """)
    subprocess.run([sys.executable, "-c", code], check=True)


def test_plain_terminal_never_imports_rich(lab):
    """Colour off (explicitly, or stdout is not a TTY): the report is built without rich."""
    code = textwrap.dedent("""
        import sys
        from labwarden.audit.compose import audit
        from labwarden.report import render
        result = audit(["."])
        assert result.findings
        explicit = render(result, "terminal", color=False)
        automatic = render(result, "terminal")        # stdout is a pipe here
        assert "rich" not in sys.modules, "rich was imported"
        assert "\\x1b[" not in explicit and "\\x1b[" not in automatic
        print("ok")
    """)
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    done = subprocess.run([sys.executable, "-c", code], cwd=lab.root, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_colour_uses_rich(lab):
    code = textwrap.dedent("""
        import sys
        from labwarden.audit.compose import audit
        from labwarden.report import render
        text = render(audit(["."]), "terminal", color=True)
        assert "rich" in sys.modules and "\\x1b[" in text
    """)
    subprocess.run([sys.executable, "-c", code], cwd=lab.root, check=True)


def test_probe_targets_are_shown_as_written_in_every_format(tmp_path, monkeypatch):
    """A live finding's location is the target URL, not a path: `ssh://h:22` must not come
    out as the path `ssh:/h:22`, and SARIF names the URL as its artifact."""
    from labwarden.model import AuditResult, Finding, Location, Severity
    from labwarden.rules import registry

    monkeypatch.chdir(tmp_path)
    rule = registry.get("SSH001")
    targets = ["ssh://admin@127.0.0.1:2222", "https://[::1]:8443"]
    findings = [Finding(rule, Severity.HIGH, "password authentication offered",
                        Location(target), f"ssh:{target}", "auth:password")
                for target in targets]
    result = AuditResult(findings=findings, diagnostics=[], targets=targets)
    for fmt, text in outputs(result).items():
        for target in targets:
            assert target in text, (fmt, target)
        assert "ssh:/127" not in text and "ssh:/admin" not in text, fmt
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]
            for r in json.loads(outputs(result)["sarif"])["runs"][0]["results"]]
    assert uris == [{"uri": "ssh://admin@127.0.0.1:2222"}, {"uri": "https://[::1]:8443"}]
