"""Bounds on what one value may cost: interpolation that would expand without limit, defaults
nested past Python's stack, numbers longer than Python converts. Each is a diagnostic at its
file and line, the value is kept as written, and the rest of the tree is still audited.

The memory bombs run in a child process under an address-space limit: without the bounds
they die with MemoryError (or take gigabytes); with them they finish well inside it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from labwarden.audit.compose import AuditOptions, audit
from labwarden.sources.compose import interpolate as interp
from labwarden.sources.compose.interpolate import (
    Budget, ExpansionTooLarge, NestingTooDeep, interpolate, interpolate_bounded)
from labwarden.sources.envfile import parse_env_text
from labwarden.sources.yamlfile import MAX_INT_DIGITS, parse_yaml

GOOD = "services:\n  web:\n    image: nginx:1.27\n    read_only: true\n"
CRASHES = {"rule-crashed", "load-failed", "worker-failed"}
ADDRESS_SPACE = 600 * 1024 * 1024


def audit_tree(lw, bad_files: dict[str, str]):
    """Audit a good project beside a bad one; no crash may be reported."""
    root = lw.tree({"good/compose.yaml": GOOD}, name="tree")
    lw.write(root / "bad", bad_files)
    result = audit([str(root)], AuditOptions(jobs=1))
    assert not [d for d in result.diagnostics if d.code in CRASHES], result.diagnostics
    assert "compose:good/web" in {f.asset for f in result.findings}
    return result, root / "bad"


def only(result, code: str):
    found = [d for d in result.diagnostics if d.code == code]
    assert found, [str(d) for d in result.diagnostics]
    return found


def tenfold_env(levels: int = 11) -> str:
    """A few hundred bytes whose last variable expands to 10**levels characters."""
    lines = ["A0=xxxxxxxxxx"]
    lines += [f"A{i}=" + f"$A{i - 1}" * 10 for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def audit_in_limited_child(root) -> dict:
    """`labwarden audit ROOT --format json` in a child whose address space is capped."""
    code = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, ({ADDRESS_SPACE}, {ADDRESS_SPACE}))
        from labwarden.cli import run
        sys.argv = ["labwarden", "audit", {str(root)!r}, "--format", "json", "--jobs", "1"]
        sys.exit(run())
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stdout, done.stderr
    assert done.returncode == 2, (done.returncode, done.stderr)  # a bomb is an input error
    return json.loads(done.stdout)


# --- expansion size ------------------------------------------------------------------------

def test_tenfold_env_file_finishes_under_a_memory_limit(lw):
    root = lw.tree({"good/compose.yaml": GOOD,
                    "bad/.env": tenfold_env(),
                    "bad/compose.yaml": "services:\n  app:\n    image: nginx:1.27\n"
                                        "    environment:\n      X: ${A5}\n"}, name="tree")
    report = audit_in_limited_child(root)
    bombs = [d for d in report["diagnostics"] if d["code"] == "interpolation-bomb"]
    assert bombs and all(d["location"]["path"].endswith(".env") for d in bombs)
    assert bombs[0]["location"]["line"] == 7          # A6: 10**7 characters, the first too big
    assert report["summary"]["projects"] == 2 and report["summary"]["services"] == 2


def test_compose_file_repeating_a_large_value_finishes_under_a_memory_limit(lw):
    labels = "".join(f"      l{i}: x${{BIG}}\n" for i in range(600))
    root = lw.tree({"good/compose.yaml": GOOD,
                    "bad/.env": "BIG=" + "x" * 1_000_000 + "\n",
                    "bad/compose.yaml": "services:\n  app:\n    image: nginx:1.27\n"
                                        "    labels:\n" + labels}, name="tree")
    report = audit_in_limited_child(root)
    [bomb] = [d for d in report["diagnostics"] if d["code"] == "interpolation-bomb"]
    assert bomb["location"]["path"].endswith("compose.yaml")
    assert "16 MiB" in bomb["message"]
    assert report["summary"]["services"] == 2


def test_one_value_over_the_limit_is_kept_as_written_with_its_line(lw):
    result, bad = audit_tree(lw, {
        ".env": "BIG=" + "y" * 600_000 + "\n",
        "compose.yaml": "services:\n  app:\n    image: nginx:1.27\n    environment:\n"
                        "      DOUBLE: ${BIG}${BIG}\n      ONCE: ${BIG}\n"})
    [bomb] = only(result, "interpolation-bomb")
    assert bomb.level == "error" and lw.at(bomb.location, bad / "compose.yaml", "DOUBLE")
    assert result.services == 2


def test_expansion_is_counted_before_the_text_is_joined():
    calls = []

    def resolve(name):
        calls.append(name)
        return "z" * 1000

    with pytest.raises(ExpansionTooLarge):
        interpolate("${A}" * 50, resolve, limit=10_000)
    assert len(calls) == 11     # stopped at the eleventh thousand, not after all fifty


def test_the_file_budget_stops_after_it_is_spent():
    budget = Budget(total=3000)
    values = {"V": "v" * 1000}
    results = [interpolate_bounded("${V}+", values.get, budget) for _ in range(5)]
    assert [r[1] is None for r in results] == [True, True, False, True, True]
    assert results[2][1][0] == "interpolation-bomb" and results[2][0] == "${V}+"
    assert results[3] == ("${V}+", None)            # spent and said once: left as written


def test_env_file_bomb_is_a_problem_on_its_line():
    env = parse_env_text(tenfold_env(7), ".env")
    assert [(code, loc.line) for code, _, loc in env.problems] == [("interpolation-bomb", 7)]
    assert len(env.variables["A5"].value) == 10 ** 6       # the one before still expands
    assert env.variables["A6"].value == "$A5" * 10


# --- nesting -----------------------------------------------------------------------------

def nested_defaults(depth: int) -> str:
    return "${A:-" * depth + "x" + "}" * depth


def test_defaults_nested_past_the_limit_are_refused_not_recursed():
    assert interpolate(nested_defaults(interp.MAX_NESTING), {}.get) == "x"
    with pytest.raises(NestingTooDeep):
        interpolate(nested_defaults(interp.MAX_NESTING + 1), {}.get)


def test_deeply_nested_defaults_are_a_diagnostic_not_a_recursion_error(lw):
    result, bad = audit_tree(lw, {
        "compose.yaml": "services:\n  app:\n    image: nginx:1.27\n    environment:\n"
                        f"      DEEP: \"{nested_defaults(5000)}\"\n      OK: ${{B:-b}}\n"})
    [deep] = only(result, "interpolation-too-deep")
    assert lw.at(deep.location, bad / "compose.yaml", "DEEP")
    assert result.services == 2


def test_deeply_nested_defaults_in_an_env_file(lw):
    env = parse_env_text(f"DEEP={nested_defaults(3000)}\nNEXT=ok\n", ".env")
    assert [code for code, _, _ in env.problems] == ["interpolation-too-deep"]
    assert env.variables["NEXT"].value == "ok"


# --- numbers too long to convert ---------------------------------------------------------

@pytest.mark.parametrize("number", ["7" * 5000, "-" + "7" * 5000, "0x" + "f" * 4000,
                                    "0o" + "7" * 5000, "0" + "7" * 5000])
def test_a_number_too_long_to_convert_is_kept_as_text(number):
    [document], problems = parse_yaml(f"a: 1\nx-big: {number}\nb: 2\n", "c.yaml")
    assert document["x-big"] == number and str(document["x-big"]) == number
    assert document["a"] == 1 and document["b"] == 2
    assert [(code, loc.line) for code, _, loc in problems] == [("number-too-long", 2)]


def test_long_numbers_that_convert_and_quoted_digits_are_not_reported():
    digits = "9" * MAX_INT_DIGITS
    [document], problems = parse_yaml(f"a: {digits}\nb: '{'8' * 9000}'\n", "c.yaml")
    assert document["a"] == int(digits) and problems == []


def test_a_huge_number_anywhere_leaves_the_project_audited(lw):
    result, bad = audit_tree(lw, {
        "compose.yaml": f"x-big: {'7' * 5000}\nservices:\n  app:\n    image: nginx:1.27\n"
                        f"    mem_limit: {'9' * 5000}\n    user: \"{'0' * 5000}\"\n"})
    problems = only(result, "number-too-long")
    assert sorted(d.location.line for d in problems) == [1, 5]
    assert result.services == 2        # and no rule crashed on the quoted UID of zeros

