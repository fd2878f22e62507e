"""The escape function of every output format, against hostile strings.

Each Markdown case is rendered by a real CommonMark parser (markdown-it-py, which rich
already brings) with raw HTML allowed and GitHub's tables on: what a reader's renderer would
make of it is what is asserted, not the escaped text's look.
"""

from __future__ import annotations

import json
import re

import pytest
from markdown_it import MarkdownIt
from markupsafe import Markup

from labwarden.report.escape import (
    block, html, json_text, line, markdown_block, markdown_cell, markdown_cell_lines,
    markdown_code, markdown_paragraph, markdown_prose, markdown_text, sarif_text, terminal,
    terminal_lines)

HOSTILE = {
    "newline": "first\nsecond",
    "carriage return": "first\rsecond",
    "crlf": "first\r\nsecond",
    "line separators": "a\u2028b\u2029c\x85d\x0be\x0cf\x1cg",
    "pipe": "a | b || c",
    "backtick 1": "a`b",
    "backtick 2": "a``b",
    "backtick 3": "```",
    "backtick 4": "x````y",
    "backtick 5": "`````",
    "backticks at the ends": "`edge`",
    "script": "<script>alert(1)</script>",
    "image": "<img src=x onerror=alert(1)>",
    "link": "[click](javascript:alert(1))",
    "link tail": "](javascript:alert(1))",
    "autolink": "<javascript:alert(1)>",
    "entity": "&lt;script&gt; &#60;",
    "emphasis": "*bold* __under__ ~~strike~~",
    "heading": "# heading",
    "list": "- item",
    "ordered": "1. item",
    "setext": "===",
    "rule": "---",
    "quote": "> quoted",
    "backslash": "a\\` b \\| c \\",
    "clear screen": "\x1b[2J\x1b[H",
    "hyperlink": "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07",
    "8-bit CSI": "\x9b31mred",
    "bidi override": "admin\u202e\u2066txt.exe\u2069",
    "bidi marks": "a\u200eb\u200fc\u061cd",
    "NUL and DEL": "a\x00b\x7fc",
    "bell and backspace": "a\x07b\x08c",
    "fake table row": "name\r\n| forged | 2099-01-01 | recorded |",
    "fence": "x\n```\n<script>alert(1)</script>\n```",
    "tilde fence": "~~~\n<b>x</b>",
}
CASES = list(HOSTILE.values())
IDS = list(HOSTILE)

# What must never reach an output raw: C0 but tab and line feed, DEL, C1, bidi controls.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                    "\u2066-\u2069\u2028\u2029]")

MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def folded(text: str) -> str:
    """What a one-line context shows for `text`: the visible line, whitespace collapsed."""
    return " ".join(line(text).split())


def inline_tokens(markdown: str) -> list:
    tokens = MARKDOWN.parse(markdown)
    assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"], \
        f"more than one paragraph: {markdown!r}"
    return tokens[1].children


# ----- plain text and terminal -------------------------------------------------------------


@pytest.mark.parametrize("text", CASES, ids=IDS)
def test_terminal_is_one_safe_line(text):
    out = terminal(text)
    assert not UNSAFE.search(out) and "\n" not in out and "\t" not in out


@pytest.mark.parametrize(("text", "shown"), [
    ("\x1b[2J", "\\x1b[2J"),
    ("a\r\nb\rc\nd\te", "a b c d e"),
    ("\x9b31m", "\\x9b31m"),
    ("admin\u202etxt", "admin\\u202etxt"),
    ("a\x00b\x7f", "a\\x00b\\x7f"),
    ("[bold]x[/]", "[bold]x[/]"),           # rich markup is never parsed: shown as written
    ("naïve — ok", "naïve — ok"),           # printable text is left alone
])
def test_terminal_shows_what_was_there(text, shown):
    assert terminal(text) == shown


def test_terminal_lines_cannot_add_a_line():
    lines = ["  new  HIGH  compose:app/web " + HOSTILE["fake table row"], "last"]
    assert terminal_lines(lines).count("\n") == 1


@pytest.mark.parametrize("text", CASES, ids=IDS)
def test_block_keeps_lines_and_nothing_unsafe(text):
    out = block(text)
    assert not UNSAFE.search(out)
    # line breaks stay line breaks (one each); VT, FF and the separators are shown instead
    assert out.count("\n") == len(re.findall("\r\n|[\n\r\x85\u2028\u2029]", text))


# ----- Markdown -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", CASES, ids=IDS)
@pytest.mark.parametrize("where", ["{}", "x {} y", "- {}", "**{}**"])
def test_markdown_text_is_literal(text, where):
    markdown = where.format(markdown_text(text))
    html_out = MARKDOWN.render(markdown)
    tokens = MARKDOWN.parse(markdown)
    kinds = {t.type for t in tokens} | {c.type for t in tokens for c in t.children or []}
    assert not kinds & {"html_inline", "html_block", "link_open", "code_inline", "fence",
                        "code_block", "heading_open", "hr", "blockquote_open", "table_open",
                        "s_open", "ordered_list_open", "image"}, markdown
    assert "<script" not in html_out and "<img" not in html_out
    assert kinds & {"bullet_list_open"} == ({"bullet_list_open"} if where == "- {}" else set())
    shown = "".join(c.content for t in tokens if t.type == "inline" for c in t.children
                    if c.type == "text")
    assert shown == where.replace("**", "").removeprefix("- ").format(folded(text))


@pytest.mark.parametrize("text", CASES, ids=IDS)
def test_markdown_code_is_one_code_span(text):
    children = inline_tokens(f"see {markdown_code(text)} here")
    spans = [c for c in children if c.type == "code_inline"]
    assert len(spans) == 1 and spans[0].content == line(text)
    assert [c.content for c in children if c.type == "text"] == ["see ", " here"]


def test_markdown_code_fence_outgrows_the_longest_run():
    for run in range(1, 6):
        assert markdown_code("a" + "`" * run + "b") == "`" * (run + 1) + "a" + "`" * run + "b" + \
            "`" * (run + 1)


@pytest.mark.parametrize("text", CASES, ids=IDS)
def test_markdown_cell_keeps_one_row_of_two_columns(text):
    table = "| text | code |\n| --- | --- |\n" \
            f"| {markdown_cell(text)} | {markdown_code(text, table=True)} |\n"
    tokens = MARKDOWN.parse(table)
    rows = [t for t in tokens if t.type == "tr_open"]
    cells = [t for t in tokens if t.type == "td_open"]
    assert len(rows) == 2 and len(cells) == 2, table       # the header and one row
    inline = [t for t in tokens if t.type == "inline"][2:]
    # prose: literal text, and the code spans written in it (``` `a` ```) stay code
    assert {c.type for c in inline[0].children} <= {"text", "code_inline"}
    code = [c for c in inline[1].children if c.type == "code_inline"]
    assert len(code) == 1 and code[0].content == line(text)
    assert "<script" not in MARKDOWN.render(table)


def source_lines(text: str) -> list[str]:
    """The lines of `text` as a multi-line context keeps them, each folded."""
    return [folded(row) for row in block(text).strip("\n").split("\n")]


MULTI_LINE = [*CASES, "lessons\n\n# two\n\n\n- three", "\nleading and trailing\n\n"]


@pytest.mark.parametrize("text", MULTI_LINE)
@pytest.mark.parametrize("before, indent, containers", [
    ("", "", []),
    ("- [x] item\n  - ", "    ",                # an evidence line of a record's item
     ["bullet_list_open", "list_item_open", "paragraph_open", "bullet_list_open",
      "list_item_open"]),
    ("> ", "> ", ["blockquote_open"]),
])
def test_markdown_paragraph_keeps_the_lines_in_one_paragraph(text, before, indent, containers):
    markdown = before + markdown_paragraph(text, indent) + "\n\nafter\n"
    tokens = MARKDOWN.parse(markdown)
    opened = [t.type for t in tokens if t.type.endswith("_open")]
    # the containers, the value's one paragraph, and the paragraph after: no other block
    assert opened == containers + ["paragraph_open", "paragraph_open"], markdown
    children = [t for t in tokens if t.type == "inline"][-2].children
    assert {c.type for c in children} <= {"text", "hardbreak"}, markdown
    shown = "".join("\n" if c.type == "hardbreak" else c.content for c in children)
    assert shown.split("\n") == source_lines(text)
    assert "<script" not in MARKDOWN.render(markdown)


@pytest.mark.parametrize("text", MULTI_LINE)
def test_markdown_cell_lines_keeps_one_row_and_its_lines(text):
    table = f"| text | x |\n| --- | --- |\n| {markdown_cell_lines(text)} | x |\n"
    tokens = MARKDOWN.parse(table)
    assert len([t for t in tokens if t.type == "tr_open"]) == 2, table
    assert len([t for t in tokens if t.type == "td_open"]) == 2, table
    children = [t for t in tokens if t.type == "inline"][2].children
    breaks = [c for c in children if c.type == "html_inline"]
    assert {c.content for c in breaks} <= {"<br>"}           # the only HTML, labwarden's own
    assert len(breaks) == len(source_lines(text)) - 1
    assert "<script" not in MARKDOWN.render(table) and "<img" not in MARKDOWN.render(table)


def test_markdown_prose_keeps_the_rules_code_spans():
    children = inline_tokens(markdown_prose("set `read_only` and <b>not</b> *this* ` stray"))
    assert [(c.type, c.content) for c in children] == [
        ("text", "set "), ("code_inline", "read_only"),
        ("text", " and <b>not</b> *this* ` stray")]
    cell = markdown_prose("`a|b` | c", table=True)
    assert "| " not in cell.replace("\\| ", "")


@pytest.mark.parametrize("text", CASES, ids=IDS)
def test_markdown_block_holds_any_snippet(text):
    lines = markdown_block(text, "yaml", indent="   ")
    tokens = MARKDOWN.parse("- item\n\n" + "\n".join(lines) + "\n")
    fences = [t for t in tokens if t.type == "fence"]
    assert len(fences) == 1 and fences[0].info == "yaml"
    assert fences[0].content == "\n".join(row.rstrip() for row in
                                          block(text).strip("\n").split("\n")) + "\n"
    assert not any(t.type in ("html_block", "html_inline") for t in tokens)


# ----- HTML -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", CASES, ids=IDS)
def test_html_escapes_and_shows_controls(text):
    out = html(text)
    assert isinstance(out, Markup)
    assert "<" not in out and ">" not in out and '"' not in out and "'" not in out
    assert not UNSAFE.search(out)


def test_html_keeps_markup_but_not_its_controls():
    assert html(Markup("<code>a\x1bb</code>")) == Markup("<code>a\\x1bb</code>")
    assert html("<b>\u202e") == "&lt;b&gt;\\u202e"


# ----- SARIF and JSON -------------------------------------------------------------------------


@pytest.mark.parametrize("text", CASES, ids=IDS)
def test_sarif_text_has_no_link_and_no_control(text):
    out = sarif_text(text)
    assert not UNSAFE.search(out)
    # every bracket is escaped: preceded by an odd number of backslashes
    for match in re.finditer(r"(\\*)[\[\]]", out):
        assert len(match.group(1)) % 2 == 1, out


def test_sarif_text_escapes_the_backslash_before_a_bracket():
    assert sarif_text("[a](b)") == "\\[a\\](b)"
    assert sarif_text("x\\[y]") == "x\\\\\\[y\\]"
    assert sarif_text("C:\\dir\nnext") == "C:\\dir\nnext"     # other backslashes stay


@pytest.mark.parametrize("text", CASES, ids=IDS)
def test_json_text_is_the_same_data_without_raw_controls(text):
    document = json.dumps({"message": text}, ensure_ascii=False)
    out = json_text(document)
    assert json.loads(out) == {"message": text}
    assert not UNSAFE.search(out)
