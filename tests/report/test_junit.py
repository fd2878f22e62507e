"""JUnit XML: the structure Jenkins, GitLab and GitHub test reporters read (the Jenkins/Ant
schema's elements and attributes), checked without an XSD: parsed with ElementTree, with
counts that agree with the result and the findings, waivers and errors where CI shows them."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from labwarden.report import render

OUTCOMES = ("failure", "error", "skipped")
COUNTS = {"failure": "failures", "error": "errors", "skipped": "skipped"}


def parse(result) -> ET.Element:
    text = render(result, "junit")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(text.encode("utf-8"))


def result_of(source, request):
    found = request.getfixturevalue(source)
    return found.result if hasattr(found, "result") else found


def cases(root: ET.Element) -> list[ET.Element]:
    return root.findall("./testsuite/testcase")


def outcome(case: ET.Element) -> str | None:
    found = [child.tag for child in case if child.tag in OUTCOMES]
    assert len(found) <= 1, f"{case.get('name')}: several outcomes {found}"
    return found[0] if found else None


@pytest.mark.parametrize("source", ["lab", "crafted", "empty"])
def test_structure_and_counts_agree_with_the_result(source, request):
    result = result_of(source, request)
    root = parse(result)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    for suite in suites:
        assert suite.get("name")
        own = suite.findall("testcase")
        assert int(suite.get("tests")) == len(own)
        for tag, attribute in COUNTS.items():
            assert int(suite.get(attribute)) == sum(1 for c in own if outcome(c) == tag)
        for case in own:
            assert case.get("classname") and case.get("name") and case.get("time") == "0"
    for attribute in ("tests", "failures", "errors", "skipped"):
        assert int(root.get(attribute)) == sum(int(s.get(attribute)) for s in suites)
    waived = sum(1 for f in result.findings if f.waived)
    assert int(root.get("failures")) == len(result.active())
    assert int(root.get("skipped")) == waived
    assert int(root.get("errors")) == len(result.errors)
    targets = len(result.targets or ["."])
    assert int(root.get("tests")) == len(result.findings) + len(result.errors) + targets


def test_a_suite_per_asset_and_a_case_per_finding(crafted):
    root = parse(crafted)
    by_suite = {s.get("name"): s for s in root.findall("testsuite")}
    for finding in crafted.findings:
        suite = by_suite[finding.asset]
        case = next(c for c in suite.findall("testcase")
                    if finding.id in ET.tostring(c, encoding="unicode"))
        assert case.get("name").startswith(f"{finding.rule.id} {finding.rule.name}")
        assert finding.id not in case.get("name")       # stable names: CI history follows
        if finding.waived:
            skipped = case.find("skipped")
            assert finding.suppression.justification in skipped.get("message")
        else:
            failure = case.find("failure")
            assert failure.get("type") == finding.severity.name
            assert failure.get("message").startswith(f"{finding.id} {finding.severity.name}")
            if finding.evidence:
                assert f"Evidence: {finding.evidence}" in failure.text
            if finding.location.line:
                assert case.get("line") == str(finding.location.line)
    first = next(c for c in cases(root) if c.find("failure") is not None and
                 "CRITICAL-001" in c.find("failure").get("message"))
    assert "Fix: use a secret:" in first.find("failure").text
    assert first.get("file") == "stack/compose.yaml"


def test_input_errors_are_errors_and_other_diagnostics_are_kept(crafted):
    root = parse(crafted)
    inputs = root.find("testsuite[@name='input']")
    error = inputs.find("testcase/error")
    assert error.get("type") == "yaml-syntax"
    assert error.get("message") == "not valid YAML: expected ',' or ']'"
    assert "bad/compose.yaml:2" in error.text
    out = root.find("testsuite[@name='labwarden']/system-out").text
    for diagnostic in crafted.diagnostics:
        if diagnostic.level != "error":
            assert diagnostic.message in out


def test_text_from_files_is_escaped_and_made_valid_xml(crafted):
    text = render(crafted, "junit")
    assert "\x1b" not in text and "<b>html</b>" not in text
    messages = [c.find("failure").get("message") for c in cases(parse(crafted))
                if c.find("failure") is not None]
    # markup survives as text; the escape character is shown, as every reporter shows it
    assert any("a | pipe and `back`tick` and <b>html</b> \\x1b[31mred" in m for m in messages)
    assert any("informational\nover two lines" in m for m in messages)


def test_a_clean_audit_is_passing_tests_not_an_empty_report(empty):
    root = parse(empty)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("1", "0", "0")
    case = root.find("testsuite[@name='labwarden']/testcase")
    assert case.get("name") == "audit ." and outcome(case) is None


def test_timestamp_is_the_schema_s_zoneless_utc(crafted):
    assert {s.get("timestamp") for s in parse(crafted).findall("testsuite")} == \
        {"2026-01-02T03:04:05"}


def test_cli_writes_junit_for_audit_and_scripts(lab, tmp_path):
    out = tmp_path / "audit.xml"
    done = subprocess.run([sys.executable, "-m", "labwarden", "audit", ".", "--format", "junit",
                           "-o", str(out), "--allow-partial"], cwd=lab.root,
                          capture_output=True, text=True)
    assert done.returncode == 1, done.stderr          # active findings at or above high
    root = ET.parse(out).getroot()
    assert int(root.get("failures")) == len(lab.result.active())
    script = tmp_path / "deploy.sh"
    script.write_text("#!/bin/sh\nrm -rf $DIR/\n")
    done = subprocess.run([sys.executable, "-m", "labwarden", "scripts", str(script),
                           "--format", "junit"], capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr
    root = ET.fromstring(done.stdout)
    assert root.tag == "testsuites" and int(root.get("tests")) >= 1
