"""The JSON report: every document follows the committed schema, fields carry the result."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from labwarden.report import json_report, render

SCHEMA_FILE = (Path(json_report.__file__).parent / "schema" / "report-v1.schema.json")


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def test_shipped_schema_is_the_committed_file():
    assert json_report.schema() == json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("source", ["lab", "crafted", "empty"])
def test_documents_follow_the_schema(source, request, validator):
    result = request.getfixturevalue(source)
    result = result.result if hasattr(result, "result") else result
    document = json.loads(render(result, "json"))
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def test_the_schema_rejects_what_it_should(crafted, validator):
    document = json.loads(render(crafted, "json"))
    document["findings"][0]["surprise"] = 1
    assert not validator.is_valid(document)
    document = json.loads(render(crafted, "json"))
    waived = next(f for f in document["findings"] if f["waived"])
    waived["suppression"] = None
    assert not validator.is_valid(document)


def test_fields(crafted):
    document = json.loads(render(crafted, "json"))
    assert document["schema_version"] == "1.1"
    assert document["tool"]["name"] == "labwarden"
    assert document["started"] == crafted.started
    assert document["targets"] == crafted.targets
    assert [f["id"] for f in document["findings"]] == [f.id for f in crafted.findings]
    for data, f in zip(document["findings"], crafted.findings):
        assert data["rule_id"] == f.rule.id and data["rule_name"] == f.rule.name
        assert data["title"] == f.rule.title
        assert data["severity"] == f.severity.name
        assert data["fingerprint"] == f.fingerprint
        assert data["location"] == {"path": f.location.path, "line": f.location.line,
                                    "column": f.location.column}
        assert data["evidence"] == f.evidence
        assert data["fix"] == (f.fix or f.rule.doc.fix)      # falls back to the rule's fix
        assert data["checklist"] == list(f.rule.checklist)
        assert data["impact"]["downtime_min"] == list(f.rule.impact.downtime_min)
    waiver = next(f for f in document["findings"] if f["waived"]
                  and f["suppression"]["kind"] == "waiver")
    assert waiver["suppression"]["owner"] == "bob"
    assert waiver["suppression"]["expires"] == "2099-06-30"
    assert [d["level"] for d in document["diagnostics"]] == \
        [d.level for d in crafted.diagnostics]
    assert document["diagnostics"][-1]["location"] is None
    assert document["summary"]["errors"] == 1 and document["summary"]["gaps"] == 7


@pytest.mark.parametrize("source", ["lab", "crafted", "empty"])
def test_render_writes_the_document(source, request):
    """render() writes the JSON piece by piece; it must be json.dumps of document()."""
    result = request.getfixturevalue(source)
    result = result.result if hasattr(result, "result") else result
    expected = json.dumps(json_report.document(result), ensure_ascii=False,
                          separators=(",", ":")) + "\n"
    assert render(result, "json") == expected


@pytest.mark.parametrize("source", ["lab", "crafted", "empty"])
def test_pieces_are_the_report(source, request):
    """The command line writes the JSON report in pieces of UTF-8 (`render_pieces`), each
    made when it is written: joined, they are `render()`; a large result comes in several,
    most of them plain ASCII."""
    from labwarden.report import render_pieces

    result = request.getfixturevalue(source)
    result = result.result if hasattr(result, "result") else result
    pieces = render_pieces(result, "json")
    assert iter(pieces) is pieces       # made as they are taken, not held all at once
    assert b"".join(pieces).decode() == render(result, "json")
    assert render_pieces(result, "sarif") == [render(result, "sarif")]
    many = type(result)(findings=result.findings * 300, diagnostics=result.diagnostics,
                        targets=result.targets)
    pieces = list(render_pieces(many, "json"))
    if result.findings:
        assert len(pieces) > 3 and any(piece.isascii() for piece in pieces)
    assert b"".join(pieces).decode() == render(many, "json")


@pytest.mark.parametrize("source", ["lab", "crafted"])
def test_findings_encoded_ahead_give_the_same_report(source, request):
    """An audit that waits for a stage beside it encodes the findings and diagnostics
    meanwhile (`prepare`): the report is the same, and a finding changed after that is
    encoded again rather than shown as it was."""
    import copy

    from labwarden.report.json_report import prepare

    result = request.getfixturevalue(source)
    result = result.result if hasattr(result, "result") else result
    expected = render(result, "json")
    ahead = copy.deepcopy(result)
    prepare(ahead.findings, ahead.diagnostics)
    assert all(f.encoded is not None for f in ahead.findings)
    assert all(d.encoded is not None for d in ahead.diagnostics)
    assert render(ahead, "json") == expected
    changed = ahead.findings[0]
    changed.message = "something else entirely"
    changed.severity = type(changed.severity).INFO
    if len(ahead.findings) > 1:     # waived after it was encoded, as a waiver does last
        from labwarden.model import Suppression

        ahead.findings[1].suppression = Suppression("waiver", "accepted for the lab")
    document = json.loads(render(ahead, "json"))
    assert document["findings"][0]["message"] == "something else entirely"
    assert document["findings"][0]["severity"] == "INFO"
    if len(ahead.findings) > 1:
        assert document["findings"][1]["waived"] is True
        assert document["findings"][1]["suppression"]["justification"] == "accepted for the lab"
