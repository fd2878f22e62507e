"""The HTML report: one self-contained page, checked as markup and then in a real browser.

The unit tests render the example lab (its audit, roadmap and the checklist evaluations of
its inventory services, made as `labwarden checklist` makes them) and parse the page with
the standard library. The browser tests open the written file in Debian's Chromium through
Playwright: no console error, no request but the file itself, the filters, the expanding
rows and print. They need the Debian package chromium and the PyPI package playwright, and
fail (never skip) when either is missing: scripts/test.sh installs both.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import re
import shutil
import tempfile
from collections import Counter
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

import markupsafe
import pytest

from labwarden.checklist.attest import AttestationBook
from labwarden.checklist.catalog import load_catalog
from labwarden.checklist.evaluate import evaluate
from labwarden.checklist.score import truncated_percent
from labwarden.commands.remediation import build_roadmap
from labwarden.config import load_config
from labwarden.audit.compose import AuditOptions, audit
from labwarden.inventory import load_inventory
from labwarden.remediation.roadmap import minutes
from labwarden.report.html import fix_blocks, inline, render

REPO = Path(__file__).parents[2]
EXAMPLE = REPO / "examples" / "homelab"
ARTIFACTS = REPO / "test-artifacts"
TODAY = dt.date(2026, 12, 1)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
SECRET_KEY = re.compile(r"PASS|SECRET|TOKEN|KEY", re.IGNORECASE)


# ----- the example lab ----------------------------------------------------------------------


class Example:
    def __init__(self):
        config = load_config(str(EXAMPLE / "labwarden.yaml"))
        inventory = load_inventory(config)
        root = inventory.base_dir
        self.result = audit([root], AuditOptions(config=config, today=TODAY, jobs=1))
        self.roadmap = build_roadmap([root], config, self.result)
        catalog = load_catalog()
        book = AttestationBook(inventory.attestations_path, inventory, catalog)
        # As commands/checklist.py evaluates a service: the audit of the inventory's root.
        self.evaluations = [
            evaluate(service, self.result, book.record_for(service), catalog, root,
                     disabled=config.disabled, today=TODAY)
            for service in inventory.services.values()]
        self.catalog = catalog
        self.html = render(self.result, roadmap=self.roadmap, evaluations=self.evaluations,
                           catalog=catalog)


@pytest.fixture(scope="module")
def example() -> Example:
    return Example()


@pytest.fixture(scope="module")
def page_file(example, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(example.html, encoding="utf-8")
    return path


def planted_secrets() -> list[str]:
    """The secret values planted in the example lab's env and secret files: none of them may
    reach the page. Short dictionary words (`admin`, `changeme`) are left out: the page
    says those words for other reasons."""
    values = []
    for path in [*EXAMPLE.rglob("*.env"), *EXAMPLE.rglob(".env")]:
        for line in path.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and SECRET_KEY.search(key) and len(value.strip()) >= 10:
                values.append(value.strip())
    for path in EXAMPLE.rglob("secrets/*"):
        values.append(path.read_text().strip())
    return values


# ----- parsing ------------------------------------------------------------------------------


class Page(HTMLParser):
    """The page's tags, ids, references and nesting errors, from the standard library."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: Counter = Counter()
        self.tags: Counter = Counter()
        self.attrs: list[tuple[str, dict]] = []
        self.doctype = ""
        self.in_tag: dict[str, list[str]] = {}
        self.feed(text)
        self.close()
        if self.stack:
            self.errors.append(f"unclosed: {self.stack}")

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        self._start(tag, attrs)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):   # <rect .../> in the SVG
        self._start(tag, attrs)

    def _start(self, tag, attrs):
        attrs = dict(attrs)
        self.tags[tag] += 1
        self.attrs.append((tag, attrs))
        if "id" in attrs:
            self.ids[attrs["id"]] += 1

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass
        else:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1] in ("style", "script", "title"):
            self.in_tag.setdefault(self.stack[-1], []).append(data)

    def with_attr(self, name: str) -> list[tuple[str, str]]:
        return [(tag, attrs[name]) for tag, attrs in self.attrs if name in attrs]


def detail_row(html: str, finding_id: str) -> str:
    start = html.index(f'<tr class="detail" id="detail-{finding_id}">')
    return html[start:html.index("</tr>", start)]


def finding_row(html: str, finding_id: str) -> str:
    start = html.rindex("<tr", 0, html.index(f' id="{finding_id}"'))
    return html[start:html.index("</tr>", start)]


def csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# ----- the page as markup -------------------------------------------------------------------


def test_the_example_lab_has_what_the_tests_rely_on(example):
    result = example.result
    assert len(result.findings) >= 20
    assert any(f.waived for f in result.findings)
    assert any("\n" in f.fix for f in result.findings)
    assert {e.service.name for e in example.evaluations} >= {"grafana", "paperless"}
    assert any(p.steps for p in example.roadmap.phases)
    assert len(planted_secrets()) >= 4


def test_valid_structure(example):
    page = Page(example.html)
    assert page.doctype.lower() == "doctype html"
    assert not page.errors, page.errors[:5]
    assert page.tags["html"] == page.tags["head"] == page.tags["body"] == 1
    assert page.tags["h1"] == 1 and page.tags["main"] == 1
    assert ("html", {"lang": "en"}) in page.attrs
    duplicated = [i for i, n in page.ids.items() if n > 1]
    assert not duplicated, duplicated
    for section in ("summary", "overview", "findings", "checklist", "roadmap", "diagnostics"):
        assert page.ids[section] == 1, section
    # every reference inside the page points at an element that exists
    for attr in ("for", "aria-controls", "aria-labelledby"):
        for tag, value in page.with_attr(attr):
            for target in value.split():
                assert page.ids[target], f"<{tag} {attr}={target!r}> points nowhere"
    for tag, href in page.with_attr("href"):
        if href.startswith("#"):
            assert page.ids[href[1:]], f"link to a missing #{href[1:]}"
    # every form control has a label
    labelled = {value for _, value in page.with_attr("for")}
    controls = [attrs["id"] for tag, attrs in page.attrs if tag in ("select", "input")]
    assert controls and set(controls) <= labelled


def test_every_finding_id_present(example):
    page = Page(example.html)
    for finding in example.result.findings:
        assert page.ids[finding.id] == 1, finding.id
        assert page.ids[f"detail-{finding.id}"] == 1, finding.id
        assert f">{finding.id}</button>" in example.html


def test_no_external_resource(example):
    page = Page(example.html)
    refs = [(tag, name, value) for name in ("src", "href", "action", "formaction", "srcset",
                                            "poster", "data", "xlink:href")
            for tag, value in page.with_attr(name)]
    for tag, name, value in refs:
        assert not re.match(r"\s*(https?:)?//", value, re.IGNORECASE), f"<{tag} {name}={value!r}>"
        assert value.startswith("#") or value == "data:,", f"<{tag} {name}={value!r}>"
    assert not page.with_attr("src")                     # nothing is loaded
    assert not [a for t, a in page.attrs if t == "link" and a.get("rel") != "icon"]
    style = "".join(page.in_tag["style"])
    script = "".join(page.in_tag["script"])
    assert "url(" not in style and "@import" not in style
    for call in ("fetch(", "XMLHttpRequest", "import(", "WebSocket", "sendBeacon", ".src"):
        assert call not in script, call


def test_content_security_policy_allows_only_the_inline_style_and_script(example):
    page = Page(example.html)
    csp = next(a["content"] for t, a in page.attrs
               if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["style-src"] == csp_hash("".join(page.in_tag["style"]))
    assert directives["script-src"] == csp_hash("".join(page.in_tag["script"]))
    # no inline style attribute (the hash would not allow it) nor inline handler
    assert not page.with_attr("style")
    assert not [a for _, attrs in page.attrs for a in attrs if a.startswith("on")]


def test_no_planted_secret(example):
    html = example.html
    for secret in planted_secrets():
        assert secret not in html, "the page shows a planted secret"
        assert secret[2:14] not in html, "the page shows part of a planted secret"
    # the redacted evidence is there instead
    evidence = [f.evidence for f in example.result.findings if "chars)" in f.evidence]
    assert evidence and all(e in html for e in evidence)


def test_finding_details(example):
    html = example.html
    multi = next(f for f in example.result.findings if "\n" in f.fix and not f.waived)
    row = detail_row(html, multi.id)
    assert "<pre><code>" in row
    snippet_line = next(line for line in multi.fix.splitlines()[1:]
                        if line.strip() and not line.startswith("```")).strip()
    assert snippet_line.replace('"', "&#34;") in row
    assert multi.message.split("`")[-1].strip().replace("'", "&#39;")[:30] in row
    for item in multi.checklist:
        assert f"<strong>{item}</strong>" in row
    waived = [f for f in example.result.findings if f.waived]
    for f in waived:
        row = detail_row(html, f.id)
        assert "Waived:" in row and f.suppression.justification in row
        assert f.suppression.owner in row and f.suppression.expires in row
        assert 'class="badge waived"' in finding_row(html, f.id)


def test_overview_checklist_and_roadmap(example):
    html = example.html
    for evaluation in example.evaluations:
        assert f"<th scope=\"row\">{evaluation.service.name}<" in html
        assert f">{evaluation.score.risk}</span>" in html
        assert f"{truncated_percent(evaluation.score.overall.percent, 0)} %" in html
    for section in example.catalog.sections:
        assert f"{section.id}. {section.title}".replace("&", "&amp;") in html
    for phase in example.roadmap.phases:
        assert f"Phase {phase.number}: {phase.title}" in html
        assert f"({minutes(phase.downtime)})" in html
        for step in phase.steps:
            for f in step.findings:
                assert f'href="#{f.id}"' in html
            # every command, check and rollback line, as the page escapes it
            for command in step.commands:
                assert str(markupsafe.escape(f"$ {command}")) in html
            for command in step.verify:
                assert str(markupsafe.escape(f"check $ {command}")) in html
            for command in step.rollback:
                assert str(markupsafe.escape(f"undo  $ {command}")) in html


def test_without_evaluations_a_per_asset_overview(example):
    html = render(example.result)
    assert "Findings by asset" in html and "Risk by service" not in html
    assert 'id="checklist"' not in html and 'id="roadmap"' not in html
    page = Page(html)
    assert not page.errors
    assets = {f.asset.removeprefix("compose:") for f in example.result.findings}
    rows = re.findall(r'<table class="assets">.*?</table>', html, re.DOTALL)[0]
    for asset in assets:
        assert f'<th scope="row">{asset}' in rows


def test_works_without_script(example):
    """Before the script runs, every finding is expanded and the filters, useless without
    it, are hidden."""
    body = example.html.split("</head>")[1].split("<script>")[0]
    assert "is-collapsed" not in body and "is-filtered" not in body.replace(
        'class="empty is-filtered" id="no-match"', "")
    assert re.search(r'<div class="filters" id="filters"[^>]* hidden>', example.html)


def test_escaping(crafted):
    html = render(crafted)
    assert "<b>html</b>" not in html and "&lt;b&gt;html&lt;/b&gt;" in html
    assert "\x1b" not in html
    assert not Page(html).errors


def test_empty_result(empty):
    html = render(empty)
    assert "No findings." in html and "None: every file was read" in html
    assert not Page(html).errors


def test_fix_blocks():
    own = fix_blocks("add to the service:\n    mem_limit: 512m\n    cpus: 1", own=True)
    assert own == [("p", inline("add to the service:")), ("pre", "mem_limit: 512m\ncpus: 1")]
    assert fix_blocks("logging:\n  driver: local", own=True) == [
        ("pre", "logging:\n  driver: local")]
    doc = fix_blocks("Use `x`:\n```yaml\na: 1\n```\nOr `y`.", own=False)
    assert [kind for kind, _ in doc] == ["p", "pre", "p"]
    assert doc[1][1] == "a: 1" and str(doc[2][1]) == "Or <code>y</code>."
    assert str(inline("<b>`<i>`</b>")) == "&lt;b&gt;<code>&lt;i&gt;</code>&lt;/b&gt;"


# ----- the page in a real browser -----------------------------------------------------------


def require_browser():
    """Fail, naming the package, when the browser test cannot run."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.fail("the HTML report's browser test needs the Debian package `chromium` "
                    f"({CHROMIUM}): apt-get install chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("the HTML report's browser test needs the PyPI package `playwright` "
                    "(>= 1.45): pip install 'playwright>=1.45' (its own browser download is "
                    "not needed: the test drives Debian's chromium)")


class Browser:
    def __init__(self, page, file_url):
        self.page = page
        self.file_url = file_url
        self.requests: list[str] = []
        self.errors: list[str] = []

    def visible_rows(self) -> list[str]:
        return self.page.evaluate("""() => Array.from(
            document.querySelectorAll('#findings-table tr.finding'))
            .filter(row => row.getClientRects().length > 0).map(row => row.id)""")

    def shown(self) -> int:
        return int(self.page.text_content("#shown-count"))

    def visible(self, selector: str) -> bool:
        return self.page.locator(selector).is_visible()


def ids(findings) -> list[str]:
    """Finding IDs in the page's order: active findings first, then the waived ones."""
    findings = list(findings)
    return [f.id for f in findings if not f.waived] + [f.id for f in findings if f.waived]


@contextmanager
def browser(path: Path):
    require_browser()
    from playwright.sync_api import sync_playwright

    file_url = path.resolve().as_uri()
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM if os.path.exists(CHROMIUM)
            else shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900}, service_workers="block")
        try:
            context.set_default_timeout(10_000)
            page = context.pages[0] if context.pages else context.new_page()
            b = Browser(page, file_url)

            def route(r):
                b.requests.append(r.request.url)
                if r.request.url == file_url:
                    r.continue_()
                else:
                    r.abort()

            context.route("**/*", route)
            context.on("request", lambda request: b.requests.append(request.url))
            page.on("console", lambda m: b.errors.append(f"console {m.type}: {m.text}")
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: b.errors.append(f"page error: {e}"))
            page.goto(file_url)
            page.wait_for_load_state("load")
            yield b
        finally:
            context.close()


def test_browser_loads_clean_and_offline(example, page_file):
    with browser(page_file) as b:
        page = b.page
        assert page.title().startswith("Security audit report")
        assert b.visible("#filters")                     # the script ran
        assert b.shown() == len(example.result.findings)
        assert len(b.visible_rows()) == len(example.result.findings)
        assert not b.visible(f"#detail-{example.result.findings[0].id}")   # collapsed
        # print: filters hidden, every shown finding expanded
        page.emulate_media(media="print")
        assert not b.visible("#filters")
        assert b.visible(f"#detail-{example.result.findings[0].id}")
        page.emulate_media(media="screen")
        # a screenshot to look at: the top of the page with one finding opened
        page.click(f"#{example.result.findings[0].id} button.toggle")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "html-report.png"), full_page=True)
        page.wait_for_timeout(200)
        assert not b.errors, b.errors
        assert b.requests and set(b.requests) == {b.file_url}, b.requests


def test_browser_filters(example, page_file):
    findings = example.result.findings
    with browser(page_file) as b:
        page = b.page
        # severity: only that severity's rows, and the count says so
        high = ids(f for f in findings if f.severity.name == "HIGH")
        page.select_option("#filter-severity", "HIGH")
        assert b.visible_rows() == high and b.shown() == len(high)
        # severity and service combine
        asset = next(f.asset for f in findings if f.severity.name == "HIGH"
                     and any(g.asset == f.asset and g.severity != f.severity
                             for g in findings))
        page.select_option("#filter-asset", asset)
        both = ids(f for f in findings if f.asset == asset and f.severity.name == "HIGH")
        assert b.visible_rows() == both and b.shown() == len(both)
        # the service alone
        page.select_option("#filter-severity", "")
        same_asset = ids(f for f in findings if f.asset == asset)
        assert b.visible_rows() == same_asset and len(same_asset) > len(both)
        assert b.shown() == len(same_asset)
        # the rule
        page.click("#filter-reset")
        rule = findings[0].rule.id
        page.select_option("#filter-rule", rule)
        assert b.visible_rows() == ids(f for f in findings if f.rule.id == rule)
        # text search, over the row and its details (evidence included)
        page.click("#filter-reset")
        page.fill("#filter-text", "docker.sock")
        socket = [f.id for f in findings if "docker.sock" in f.evidence]
        shown = b.visible_rows()
        assert socket and set(socket) <= set(shown) and len(shown) < len(findings)
        assert b.shown() == len(shown)
        page.fill("#filter-text", "no-such-text-anywhere")
        assert b.visible_rows() == [] and b.shown() == 0 and b.visible("#no-match")
        # waived only
        page.click("#filter-reset")
        page.select_option("#filter-status", "waived")
        assert b.visible_rows() == ids(f for f in findings if f.waived)
        page.click("#filter-reset")
        assert b.shown() == len(findings) and not b.visible("#no-match")
        assert not b.errors, b.errors
        assert set(b.requests) == {b.file_url}, b.requests


def test_browser_expand_shows_the_fix(example, page_file):
    finding = next(f for f in example.result.findings if "\n" in f.fix and not f.waived)
    snippet = next(line for line in finding.fix.splitlines()[1:]
                   if line.strip() and not line.startswith("```")).strip()
    with browser(page_file) as b:
        page = b.page
        toggle = page.locator(f"#{finding.id} button.toggle")
        detail = f"#detail-{finding.id}"
        assert toggle.get_attribute("aria-expanded") == "false" and not b.visible(detail)
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true" and b.visible(detail)
        fix = page.locator(f"{detail} .fix pre").first
        assert fix.is_visible() and snippet in fix.text_content()
        toggle.click()
        assert not b.visible(detail)
        # a roadmap link opens its finding, even when a filter hid it
        other = next(f for f in example.result.findings
                     if not f.waived and f.severity != finding.severity)
        page.select_option("#filter-severity", finding.severity.name)
        page.click(f"a.finding-link[href='#{other.id}']")      # in the roadmap
        assert b.visible(f"#{other.id}") and b.visible(f"#detail-{other.id}")
        assert not b.errors, b.errors
        assert set(b.requests) == {b.file_url}, b.requests
