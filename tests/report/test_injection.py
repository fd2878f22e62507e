"""Hostile names and values, end to end: an audited tree and an inventory whose names,
labels, keys and free text carry line breaks, pipes, backtick runs, HTML, Markdown links,
terminal escape sequences and bidi overrides, rendered in every format.

The strongest check is a twin: the same tree with plain text in the same places must give a
document of the same shape (the same Markdown blocks, table rows and cells, the same HTML
elements, the same number of terminal lines). Whatever the hostile text does, it stays text.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from labwarden.checklist.attest import Approval, Attestation, Deployment, ServiceRecord
from labwarden.checklist.catalog import load_catalog
from labwarden.checklist.evaluate import evaluate
from labwarden.checklist.gate import GateDecision
from labwarden.checklist.records import render_record
from labwarden.cli import main
from labwarden.audit.compose import AuditOptions, audit
from labwarden.inventory import InventoryService
from labwarden.model import AuditResult, Location
from labwarden.remediation.roadmap import build, render_markdown, render_text
from labwarden.report import FORMATS, render

# Every trick at once.
HOSTILE = ("x``` `a`` <script>alert(1)</script> [a](javascript:alert(1)) \x1b[2J"
           "\x1b]8;;https://evil.example\x07ln\x1b]8;;\x07 \u202eevil\u2066 | # *\x00\x9b\r\n"
           "| forged | 2099-01-01 | recorded |\n- item\n```\n<img src=x onerror=alert(1)>")
PLAIN = "plain-value"
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                    "\u2066-\u2069\u2028\u2029]")
SGR = re.compile(r"\x1b\[[0-9;]*m")          # the colours the terminal reporter itself sends
MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
TODAY = dt.date(2026, 11, 27)


def one_line(text: str) -> str:
    return text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def make_project(root: Path, text: str) -> Path:
    """A Compose project whose directory name, label value, environment key, unknown key
    and image tag all carry `text`."""
    # A file name holds anything but NUL and "/"; ":" is left out too, because the roadmap
    # reads an asset with a ":" after the project as an env file's (another grouping).
    project = root / ("app " + re.sub("[\x00/:]", "", one_line(text)))
    project.mkdir(parents=True)
    key = one_line(text)
    (project / "compose.yaml").write_text(json.dumps({"services": {"web": {
        "image": "nginx:1.27",
        "labels": {"note": text},
        "environment": {f"K_{key}": "1"},
        key: True,                          # an unknown key: its message quotes the key
        "privileged": True,
    }}}))
    return project


def audit_twins(tmp_path: Path, monkeypatch) -> tuple[AuditResult, AuditResult]:
    results = []
    for name, text in (("plain", PLAIN), ("hostile", HOSTILE)):
        root = tmp_path / name
        make_project(root, text)
        monkeypatch.chdir(root)
        results.append(audit(["."], AuditOptions(today=TODAY)))
    monkeypatch.chdir(tmp_path)
    return results[0], results[1]


def blocks(markdown: str) -> list[str]:
    """The block structure of a Markdown document: headings, paragraphs, lists, tables
    (rows and cells), fences. Inline content is left out."""
    return [t.type for t in MARKDOWN.parse(markdown) if t.type != "inline"]


def first_column(markdown: str) -> list[str]:
    """The first cell of every row of the first table in `markdown`."""
    rows, row = [], None
    for token in MARKDOWN.parse(markdown):
        if token.type == "tr_open":
            row = []
        elif token.type == "inline" and row is not None:
            row.append(token.content)
        elif token.type == "tr_close":
            rows.append(row)
            row = None
        elif token.type == "table_close":
            break
    assert len({len(r) for r in rows}) == 1, rows        # every row as wide as the header
    return [r[0] for r in rows]


def approval_roles(record: str) -> list[str]:
    return first_column(record.split("## Approval Signatures", 1)[1])


def no_raw_html(markdown: str) -> None:
    tokens = MARKDOWN.parse(markdown)
    kinds = {t.type for t in tokens} | {c.type for t in tokens for c in t.children or []}
    assert not kinds & {"html_block", "image"}
    # The one HTML labwarden writes itself: `<br>` between the lines of a table cell. A
    # `<br>` in the text is escaped like any other tag, so this is never the text's own.
    assert {c.content for t in tokens for c in t.children or []
            if c.type == "html_inline"} <= {"<br>"}
    assert not any(c.type == "link_open" and "javascript" in (c.attrGet("href") or "")
                   for t in tokens for c in t.children or [])
    rendered = MARKDOWN.render(markdown)
    assert "<script" not in rendered and "<img" not in rendered


class Tags(HTMLParser):
    """The page's elements, but the inline ones that the text itself decides: a code span
    a rule wrote around a key, a line-break opportunity after each "/" of a path."""

    INLINE = {"code", "wbr"}

    def __init__(self, page: str):
        super().__init__()
        self.tags: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag not in self.INLINE:
            self.tags.append(tag)


@pytest.fixture
def twins(tmp_path, monkeypatch) -> tuple[AuditResult, AuditResult]:
    plain, hostile = audit_twins(tmp_path, monkeypatch)
    assert any("<script>" in f.message for f in hostile.findings), "the key is not quoted"
    assert [f.rule.id for f in plain.findings] == [f.rule.id for f in hostile.findings]
    return plain, hostile


def test_every_format_keeps_its_shape(twins):
    plain, hostile = twins
    for fmt in FORMATS:
        text = render(hostile, fmt, color=False, width=100_000)
        assert not UNSAFE.search(text), fmt
        assert "\u202e" not in text and "\x1b" not in text, fmt
    markdown = render(hostile, "markdown")
    no_raw_html(markdown)
    assert blocks(markdown) == blocks(render(plain, "markdown"))
    page = render(hostile, "html")
    assert page.count("<script") == 1 and "<img" not in page      # the page's own script
    assert Tags(page).tags == Tags(render(plain, "html")).tags
    terminal = render(hostile, "terminal", color=False, width=100_000)
    assert terminal.count("\n") == render(plain, "terminal", color=False,
                                          width=100_000).count("\n")


def test_coloured_terminal_sends_only_its_own_colours(twins):
    _, hostile = twins
    text = SGR.sub("", render(hostile, "terminal", color=True, width=100_000))
    assert "\x1b" not in text and not UNSAFE.search(text)
    assert "[a](javascript:alert(1))" in text            # rich markup stays text


def test_sarif_messages_carry_no_link_and_json_keeps_the_data(twins):
    _, hostile = twins
    log = json.loads(render(hostile, "sarif"))
    for result in log["runs"][0]["results"]:
        for match in re.finditer(r"(\\*)[\[\]]", result["message"]["text"]):
            assert len(match.group(1)) % 2 == 1, result["message"]["text"]
        assert not UNSAFE.search(result["message"]["text"].replace("\n", ""))
    document = json.loads(render(hostile, "json"))
    assert any("\x1b[2J" in f["message"] for f in document["findings"])   # data, not lost


def test_roadmap_keeps_its_shape(twins):
    plain, hostile = twins
    markdown = render_markdown(build(hostile))
    no_raw_html(markdown)
    assert blocks(markdown) == blocks(render_markdown(build(plain)))
    text = render_text(build(hostile))
    assert not UNSAFE.search(text.replace("\n", ""))
    assert text.count("\n") == render_text(build(plain)).count("\n")


# ----- the deployment record, rendered directly with any name ---------------------------------


def record_of(text: str) -> str:
    """The record of a service whose name and every free-text field hold `text`."""
    catalog = load_catalog()
    service = InventoryService(text, Location("labwarden.yaml", 1), deployment_date=text,
                               owner=text, purpose=text, criticality=text,
                               data_classification=text)
    record = ServiceRecord(
        items={"1.2.1": Attestation("1.2.1", text, "2026-11-01", note=text, evidence=text,
                                    expires="2099-01-01")},
        approvals={role.key: Approval(role.key, text, text) for role in catalog.approvals},
        deployment=Deployment(text, "manual", "success", text, text, override=text))
    nothing = AuditResult(findings=[], diagnostics=[], targets=["."])
    evaluation = evaluate(service, nothing, record, catalog, ".", today=TODAY)
    # Deployed against a NO-GO: the override is shown at the top and in the deployment record.
    decision = GateDecision(False, "Unacceptable", ["policy never deploys at Unacceptable risk"])
    return render_record(evaluation, catalog, decision)


def test_record_keeps_its_shape_whatever_the_names():
    hostile, plain = record_of(HOSTILE), record_of(PLAIN)
    # the approval table: a header and one row per role, never a forged one
    roles = ["Role"] + [role.label for role in load_catalog().approvals]
    assert approval_roles(plain) == roles and approval_roles(hostile) == roles
    no_raw_html(hostile)
    assert blocks(hostile) == blocks(plain)
    assert not UNSAFE.search(hostile.replace("\n", ""))


# ----- the same through the command line ------------------------------------------------------


LAB_CONFIG = """\
records_dir: records
attestations: attestations.yaml
history: .labwarden/history.db
services:
  web:
    deployment_type: docker
    owner: jdoe
    compose: app
"""


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--today", TODAY.isoformat()])
    out, err = capsys.readouterr()
    return code, out, err


def test_checklist_commands_and_archive_with_hostile_free_text(tmp_path, monkeypatch, capsys):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "compose.yaml").write_text(
        json.dumps({"services": {"web": {"image": "nginx:1.27", "labels": {"x": HOSTILE}}}}))
    (tmp_path / "labwarden.yaml").write_text(LAB_CONFIG)
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "approve", "web", "--role", "service_owner", "--name", HOSTILE)[0] == 0
    assert run(capsys, "attest", "web", "1.2.1", "--by", HOSTILE, "--note", HOSTILE,
               "--evidence", HOSTILE)[0] == 0
    assert run(capsys, "record", "web", "--method", "manual", "--status", "success",
               "--issues", HOSTILE, "--lessons", HOSTILE, "--override", HOSTILE)[0] == 0
    for args in (("checklist", "web"), ("gate", "web"), ("history", "web")):
        code, out, err = run(capsys, *args)
        assert code in (0, 1), err
        assert not UNSAFE.search(out.replace("\n", "")), args
    code, out, err = run(capsys, "checklist", "web", "--format", "markdown")
    no_raw_html(out)
    assert run(capsys, "archive", "web")[0] == 0
    record = next((tmp_path / "records").glob("web-*.md")).read_text()
    no_raw_html(record)
    assert approval_roles(record) == ["Role"] + [r.label for r in load_catalog().approvals]
