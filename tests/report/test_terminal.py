"""The terminal report: grouping, numbering, waived group, diagnostics, plain vs colour."""

from __future__ import annotations

import re

from labwarden.report import render
from labwarden.report.escape import terminal
from labwarden.report.terminal import build

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_grouped_by_severity_in_order(crafted):
    text = render(crafted, "terminal", color=False, width=100)
    headings = [line.split(" ")[0] for line in text.splitlines()
                if re.match(r"^(CRITICAL|HIGH|MEDIUM|LOW|INFO|WAIVED) \(\d+\)", line)]
    assert headings == ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO", "WAIVED"]
    positions = [text.index(f.id) for f in crafted.findings if not f.waived]
    assert positions == sorted(positions)
    waived_at = text.index("WAIVED (")
    assert all(text.index(f.id) > waived_at for f in crafted.findings if f.waived)


def test_finding_lines(crafted):
    text = render(crafted, "terminal", color=False, width=100)
    # the service a finding is about is named: one file's line may be read by several
    assert ("  CRITICAL-001  stack/compose.yaml:5  service stack/db  CMP001 unknown-compose-key"
            in text)
    assert "evidence: POSTGRES_PASSWORD=To…(19 chars)" in text
    # a specific fix keeps its snippet's lines, without the Markdown fences
    assert "fix: use a secret:\n" in text and "secrets:\n" in text and "```" not in text
    # no specific fix: the first paragraph of the rule's documented fix
    medium = text.split("MEDIUM-001", 1)[1].split("\n\n", 1)[0]
    first = " ".join(crafted.findings[2].rule.doc.fix.split("\n\n")[0].split())
    assert "fix: " + first[:30] in " ".join(medium.split())
    # whole-file findings outside the working directory keep their absolute path
    assert "/opt/elsewhere/docker compose.yml  CMP002" in text


def test_waived_group_says_who_and_until_when(crafted):
    text = render(crafted, "terminal", color=False, width=100)
    waived = text.split("WAIVED (2)", 1)[1]
    assert "waived by bob until 2099-06-30 (waiver at labwarden.yaml:3)" in waived
    assert "vendor agent, isolated VLAN" in waived
    assert "suppressed inline at stack/compose.yaml:19" in waived
    assert "[CRITICAL]" in waived and "[HIGH]" in waived


def test_diagnostics_summarised(crafted):
    text = render(crafted, "terminal", color=False, width=100)
    section = text.split("Coverage and input problems", 1)[1]
    assert "errors (1)" in section and "yaml-syntax" in section
    assert "coverage gaps (7)" in section
    assert "unset-variable ×6" in section and "(+3 more)" in section
    assert "missing-env-file ×1" in section
    assert "warnings (1)" in section and "unused-waiver" in section
    summary = text.strip().splitlines()[-1]
    assert summary == ("Summary: 1 critical, 1 high, 1 medium, 1 low, 1 info · 2 waived · "
                       "1 error, 7 gaps, 1 warning")


def test_no_escape_sequences_from_input(crafted):
    text = render(crafted, "terminal", color=False, width=100)
    assert "\x1b" not in text
    assert terminal("a\x1b[31mb\nc\td\x9b") == "a\\x1b[31mb c d\\x9b"


def test_wraps_to_width(crafted):
    text = render(crafted, "terminal", color=False, width=60)
    for line in text.splitlines():
        if len(line) > 60:   # only unbreakable words or the fixed header lines may overflow
            assert " " not in line.strip() or line.startswith(("  ", "labwarden", "Summary")), line


def test_colour_renders_the_same_layout(crafted):
    plain = render(crafted, "terminal", color=False, width=100)
    coloured = render(crafted, "terminal", color=True, width=100)
    assert "\x1b[" in coloured
    assert ANSI.sub("", coloured) == plain


def test_colour_follows_no_color_and_tty(crafted, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    # pytest captures stdout: not a TTY, so no colour
    assert "\x1b[" not in render(crafted, "terminal")

    class Tty:
        def isatty(self):
            return True

        def fileno(self):
            raise OSError

    monkeypatch.setattr("sys.stdout", Tty())
    assert "\x1b[" in render(crafted, "terminal")
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in render(crafted, "terminal")


def test_build_is_segments(crafted):
    lines = build(crafted, 100)
    assert all(isinstance(text, str) and (style is None or isinstance(style, str))
               for line in lines for text, style in line)


def test_empty(empty):
    text = render(empty, "terminal", color=False)
    assert "No findings." in text
    assert text.strip().splitlines()[-1].startswith("Summary: 0 critical")
