"""scripts/compare_reports.py on a throwaway repository holding this source tree: identical
reports for unchanged code (whatever the start time and duration), a difference named by
input and format when a reporter changes, and a clear exit 2 for a revision that does not
exist."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SCRIPT = ROOT / "scripts" / "compare_reports.py"
COMPOSE = """\
services:
  db:
    image: postgres:16.4
    privileged: true
    ports: ["5432:5432"]
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                    *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.fail("git not found: install the Debian package git", pytrace=False)
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "src", repo / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    (repo / "stack").mkdir()
    (repo / "stack" / "compose.yaml").write_text(COMPOSE)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    return repo


def compare(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--repo", str(repo),
                           "--input", str(repo / "stack"), *args],
                          capture_output=True, text=True, timeout=600)


def test_unchanged_code_gives_identical_reports(repo, tmp_path):
    keep = tmp_path / "keep"
    done = compare(repo, "--keep", str(keep))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "identical: 1 input(s) x 4 formats" in done.stdout
    # the reports are real ones, with the volatile fields normalised
    assert b'"started":"<started>"' in (keep / "revision-stack.json").read_bytes()
    assert b"CMP010" in (keep / "worktree-stack.terminal").read_bytes()
    worktrees = subprocess.run(["git", "-C", str(repo), "worktree", "list"],
                               capture_output=True, text=True).stdout
    assert len(worktrees.strip().splitlines()) == 1          # the checkout is removed


def test_a_changed_reporter_is_named_with_its_diff(repo):
    markdown = repo / "src" / "labwarden" / "report" / "markdown.py"
    text = markdown.read_text()
    assert "- **Tool:** labwarden" in text
    markdown.write_text(text.replace("- **Tool:** labwarden", "- **Tool used:** labwarden"))
    done = compare(repo)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "stack.markdown: reports differ" in done.stdout
    assert "+- **Tool used:** labwarden" in done.stdout
    assert "stack.json" not in done.stdout and "stack.terminal" not in done.stdout


def test_an_unknown_revision_is_a_usage_error(repo):
    done = compare(repo, "no-such-revision")
    assert done.returncode == 2
    assert "no-such-revision" in done.stderr


def test_only_the_start_time_and_duration_are_normalised():
    import importlib.util

    spec = importlib.util.spec_from_file_location("compare_reports", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    one = b'{"started":"2026-01-01T00:00:00+00:00","duration_s":0.123,"targets":["a"]}'
    two = b'{"started":"2026-03-04T05:06:07+00:00","duration_s":9.5,"targets":["a"]}'
    assert module.normalise("json", one) == module.normalise("json", two)
    assert module.normalise("json", one) != module.normalise("json", one.replace(b'"a"', b'"b"'))
    assert module.normalise("markdown", b"- **Date:** 2026-01-01 00:00 UTC\n(0.12 s)") == \
        module.normalise("markdown", b"- **Date:** 2027-02-02 10:10 UTC\n(3.40 s)")
    assert module.normalise("terminal", b"9 rules run in 0.05 s") == \
        module.normalise("terminal", b"9 rules run in 1.25 s")
