"""SARIF 2.1.0: valid against the OASIS schema, and shaped the way GitHub code scanning
reads it (relative URIs under %SRCROOT%, startLine >= 1, security-severity, fingerprints,
suppressions)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from labwarden.model import Severity
from labwarden.report import render, sarif
from labwarden.report.escape import sarif_text

SCHEMA_FILE = Path(__file__).parent / "schemas" / "sarif-schema-2.1.0.json"


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def load(result) -> dict:
    return json.loads(render(result, "sarif"))


@pytest.mark.parametrize("source", ["lab", "crafted", "empty"])
def test_valid_against_the_oasis_schema(source, request, validator):
    result = request.getfixturevalue(source)
    result = result.result if hasattr(result, "result") else result
    log = load(result)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    assert log["version"] == "2.1.0"
    assert log["$schema"] == sarif.SARIF_SCHEMA


def test_rules(crafted):
    driver = load(crafted)["runs"][0]["tool"]["driver"]
    assert driver["name"] == "labwarden" and driver["version"]
    assert driver["informationUri"].startswith("https://")
    ids = [r["id"] for r in driver["rules"]]
    assert ids == sorted({f.rule.id for f in crafted.findings})
    for descriptor in driver["rules"]:
        rule = next(f.rule for f in crafted.findings if f.rule.id == descriptor["id"])
        assert descriptor["name"] == "".join(p.capitalize() for p in rule.name.split("-"))
        assert descriptor["shortDescription"]["text"] == rule.title
        assert descriptor["fullDescription"]["text"] == " ".join(rule.doc.what.split())
        assert rule.doc.why.split("\n")[0] in descriptor["help"]["text"]
        assert "**Why it matters**" in descriptor["help"]["markdown"]
        props = descriptor["properties"]
        assert props["security-severity"] == sarif.SECURITY_SEVERITY[rule.severity]
        assert "security" in props["tags"] and props["precision"]
        assert descriptor["defaultConfiguration"]["level"] == sarif.LEVEL[rule.severity]


def test_security_severity_scale():
    assert {s.name: v for s, v in sarif.SECURITY_SEVERITY.items()} == {
        "CRITICAL": "9.5", "HIGH": "8.0", "MEDIUM": "5.5", "LOW": "2.0", "INFO": "0.0"}
    assert [sarif.LEVEL[s] for s in sorted(Severity, reverse=True)] == \
        ["error", "error", "warning", "note", "note"]


def test_results(crafted, tmp_path):
    run = load(crafted)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.as_uri() + "/"
    for result, f in zip(run["results"], crafted.findings):
        assert result["ruleId"] == f.rule.id
        assert rules[result["ruleIndex"]]["id"] == f.rule.id
        assert result["level"] == sarif.LEVEL[f.severity]
        assert result["message"]["text"].startswith(sarif_text(f.message))
        assert result["partialFingerprints"] == {"labwardenFingerprint/v1": f.fingerprint}
        physical = result["locations"][0]["physicalLocation"]
        region = physical["region"]
        assert region["startLine"] == max(1, f.location.line)
        uri = physical["artifactLocation"]["uri"]
        assert "\\" not in uri
        if f.location.path.startswith(str(tmp_path)):
            assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
            assert uri == "stack/compose.yaml"
        else:   # outside the working directory: an absolute file URI, spaces encoded
            assert "uriBaseId" not in physical["artifactLocation"]
            assert uri == "file:///opt/elsewhere/docker%20compose.yml"


def test_whole_file_finding_starts_at_line_one(crafted):
    run = load(crafted)["runs"][0]
    whole = next(r for r, f in zip(run["results"], crafted.findings) if f.location.line == 0)
    assert whole["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}


def test_suppressions(crafted):
    results = load(crafted)["runs"][0]["results"]
    by_id = {r["properties"]["labwardenId"]: r for r in results}
    for f in crafted.findings:
        if not f.waived:
            assert "suppressions" not in by_id[f.id]
            continue
        (suppression,) = by_id[f.id]["suppressions"]
        assert suppression["status"] == "accepted"
        assert suppression["justification"] == f.suppression.justification
        if f.suppression.kind == "inline":
            assert suppression["kind"] == "inSource"
        else:
            assert suppression["kind"] == "external"
            assert suppression["properties"] == {"owner": "bob", "expires": "2099-06-30"}


def test_diagnostics_become_notifications(crafted):
    invocation = load(crafted)["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False          # one input error
    assert invocation["startTimeUtc"] == "2026-01-02T03:04:05Z"
    notes = invocation["toolExecutionNotifications"]
    assert len(notes) == len(crafted.diagnostics)
    assert [n["level"] for n in notes][:2] == ["error", "warning"]
    assert notes[0]["descriptor"]["id"] == "yaml-syntax"
    assert "locations" not in notes[-1]


def test_lab_paths_are_relative_to_the_working_directory(lab):
    run = load(lab.result)["runs"][0]
    assert run["results"]
    for result in run["results"]:
        location = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert location["uriBaseId"] == "%SRCROOT%"
        assert not location["uri"].startswith(("/", "./", "file:"))
