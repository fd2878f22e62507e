"""Bounds on what one script may cost: substitutions nested past Python's stack, and
ShellCheck runs bounded in time and memory. A script that hits a bound is reported as not
(fully) checked at its path; the other scripts of the run keep their findings."""

from __future__ import annotations

from pathlib import Path

from labwarden.audit.scripts import ScriptAuditOptions, audit_scripts
from labwarden.sources.scripts import checkers
from labwarden.sources.scripts import MAX_SUBSTITUTION_DEPTH, parse_script

CURL_SH = "#!/bin/bash\ncurl -fsSL https://get.example.com | sh\necho $unquoted\n"


def nested(opener: str, closer: str, depth: int, inner: str = "x") -> str:
    return opener * depth + inner + closer * depth


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def by_code(result, code: str) -> list:
    return [d for d in result.diagnostics if d.code == code]


def test_substitutions_nested_past_the_limit_are_not_recursed():
    text = "#!/bin/bash\n\necho " + nested("$(echo ", ")", 5000) + "\nrm -rf /tmp/x\n"
    parsed = parse_script(text)
    assert parsed.too_deep == 3
    assert [c.argv for c in parsed.commands if c.argv[:1] == ["rm"]]  # the rest is read
    echoes = [c for c in parsed.commands if c.argv[:1] == ["echo"]]
    assert len(echoes) == MAX_SUBSTITUTION_DEPTH + 1       # parsed down to the limit


def test_backticks_and_process_substitutions_count_too():
    deep = "echo " + nested("<(cat ", ")", 3000) + "\n" + "echo " + \
        nested("$(echo `echo ", "`)", 2000) + "\n"
    assert parse_script(deep).too_deep == 1
    assert parse_script("echo $(a $(b `c`))\n").too_deep == 0


def test_a_deeply_nested_script_is_a_diagnostic_and_the_run_goes_on(tmp_path: Path):
    write(tmp_path, {"deep.sh": "#!/bin/bash\necho " + nested("$(echo ", ")", 5000) + "\n",
                     "other.sh": CURL_SH})
    result = audit_scripts([str(tmp_path)], ScriptAuditOptions(use_shellcheck=False))
    [deep] = by_code(result, "too-deep")
    assert deep.level == "error" and deep.location == (str(tmp_path / "deep.sh"), 2, 0)
    assert result.files_scanned == 2
    assert any(f.rule.id == "SCR005" and f.asset == "script:other.sh" for f in result.findings)


def hostile_for_shellcheck(levels: int = 1000) -> str:
    """Nested `if`s: ShellCheck's memory grows with the nesting (4 GB at 3,000 levels)."""
    return "#!/bin/bash\n" + "if true; then " * levels + "echo x; " + "fi; " * levels + "\n"


def test_shellcheck_out_of_its_memory_bound_leaves_the_others_checked(
        tmp_path: Path, shellcheck: str, monkeypatch):
    monkeypatch.setattr(checkers, "SHELLCHECK_MEMORY", 256 * 1024 * 1024)
    write(tmp_path, {"hostile.sh": hostile_for_shellcheck(), "other.sh": CURL_SH})
    result = audit_scripts([str(tmp_path)], ScriptAuditOptions(shellcheck=shellcheck))
    [bound] = by_code(result, "shellcheck-bound")
    assert bound.level == "gap" and bound.location.path == str(tmp_path / "hostile.sh")
    assert "256 MiB" in bound.message
    assert not by_code(result, "shellcheck-failed")
    # other.sh shared the first (bounded) ShellCheck process and was checked again alone.
    assert any(f.rule.id == "SCR002" and f.asset == "script:other.sh" for f in result.findings)
    assert not any(f.rule.id == "SCR002" and f.asset == "script:hostile.sh"
                   for f in result.findings)


def test_shellcheck_past_its_time_bound_is_stopped(tmp_path: Path, shellcheck: str,
                                                   monkeypatch):
    # 2,000 nested `$(`: ShellCheck runs for minutes in little memory.
    monkeypatch.setattr(checkers, "SHELLCHECK_SECONDS", 1.0)
    write(tmp_path, {"slow.sh": "#!/bin/bash\necho " + nested("$(echo ", ")", 2000) + "\n"})
    result = audit_scripts([str(tmp_path)], ScriptAuditOptions(shellcheck=shellcheck))
    [bound] = by_code(result, "shellcheck-bound")
    assert "did not finish within 1 s" in bound.message
    assert bound.location.path == str(tmp_path / "slow.sh")


def test_the_child_limits_are_set_before_shellcheck_starts(monkeypatch):
    import resource

    calls = []
    monkeypatch.setattr(resource, "setrlimit", lambda kind, value: calls.append((kind, value)))
    checkers._child_limits()()
    memory, cpu = checkers.SHELLCHECK_MEMORY, int(checkers.SHELLCHECK_SECONDS) + 1
    assert calls == [(resource.RLIMIT_AS, (memory, memory)), (resource.RLIMIT_CPU, (cpu, cpu))]
