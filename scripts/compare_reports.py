#!/usr/bin/env python3
"""Prove that a change changes no report: render the same inputs with a git revision and with
the working tree, and compare the reports byte for byte.

    python scripts/compare_reports.py               # HEAD against the working tree
    python scripts/compare_reports.py main          # any revision
    python scripts/compare_reports.py main --keep /tmp/reports   # keep what was rendered
    python scripts/compare_reports.py --input some/tree --input other/compose.yaml

The revision is checked out with `git worktree add` into a temporary directory (removed
afterwards) and run as `PYTHONPATH=<checkout>/src python -m labwarden`, the working tree as
`PYTHONPATH=<repository>/src python -m labwarden`, both with this interpreter (run it with the
project's virtualenv), from the repository's root, on the same input files: only the code
differs. Inputs: `examples/homelab`, and the shared corpus `../shared/corpus/compose` when it
is present. Formats: json, sarif, markdown and terminal (no colour, 100 columns); the start
time and duration, which differ on every run, are normalised. Exit codes are compared too.

Exit status: 0 every report identical; 1 some differ (a summary says which, with the first
lines of each diff); 2 the revision or an input could not be used.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

FORMATS = ("json", "sarif", "markdown", "terminal")
DIFF_LINES = 12
RUN_TIMEOUT_S = 900          # one audit of the whole corpus: seconds normally
# What differs on every run, by format: (pattern, replacement).
VOLATILE = {
    "json": ((r'"started":"[^"]*"', '"started":"<started>"'),
             (r'"duration_s":[-+0-9.eE]+', '"duration_s":0')),
    "sarif": ((r'"startTimeUtc":"[^"]*"', '"startTimeUtc":"<started>"'),),
    "markdown": ((r"(?m)^- \*\*Date:\*\* .*$", "- **Date:** <started>"),
                 (r"\(\d+\.\d+ s\)", "(<duration> s)")),
    "terminal": ((r"run in \d+\.\d+ s", "run in <duration> s"),),
}


class Unusable(Exception):
    """The revision, the repository or an input cannot be used (exit 2)."""


def normalise(fmt: str, report: bytes) -> bytes:
    text = report.decode("utf-8", "surrogateescape")
    for pattern, replacement in VOLATILE.get(fmt, ()):
        text = re.sub(pattern, replacement, text)
    return text.encode("utf-8", "surrogateescape")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise Unusable(f"git {' '.join(args)}: {done.stderr.strip() or done.returncode}")
    return done.stdout.strip()


def default_inputs(repo: Path) -> list[Path]:
    """examples/homelab, and the shared corpus beside the repository (or beside the main
    checkout, when `repo` is a linked worktree) when it exists."""
    found = [repo / "examples" / "homelab"]
    main_checkout = Path(git(repo, "rev-parse", "--path-format=absolute",
                             "--git-common-dir")).parent
    for root in dict.fromkeys((repo, main_checkout)):
        corpus = root.parent / "shared" / "corpus" / "compose"
        if corpus.is_dir():
            found.append(corpus)
            break
    return found


def render(src: Path, repo: Path, target: Path, fmt: str) -> tuple[int, bytes, bytes]:
    """(exit code, report, stderr) of `labwarden audit TARGET --format FMT` with the code in
    `src`."""
    env = {**os.environ, "PYTHONPATH": str(src), "NO_COLOR": "1", "COLUMNS": "100"}
    done = subprocess.run([sys.executable, "-m", "labwarden", "audit", str(target),
                           "--format", fmt], cwd=repo, env=env, capture_output=True,
                          timeout=RUN_TIMEOUT_S)
    return done.returncode, done.stdout, done.stderr


def check_imports_from(src: Path, repo: Path) -> None:
    """PYTHONPATH must win over an installed (or editable) labwarden."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run([sys.executable, "-c", "import labwarden; print(labwarden.__file__)"],
                          cwd=repo, env=env, capture_output=True, text=True)
    where = Path(done.stdout.strip() or "?").resolve()
    if done.returncode != 0 or not where.is_relative_to(src.resolve()):
        raise Unusable(f"labwarden is not imported from {src} (got {where}): "
                       f"{done.stderr.strip()[-300:]}")


def differences(name: str, old: bytes, new: bytes) -> list[str]:
    lines = difflib.unified_diff(old.decode("utf-8", "replace").splitlines(),
                                 new.decode("utf-8", "replace").splitlines(),
                                 f"{name} (revision)", f"{name} (working tree)", lineterm="", n=1)
    return list(lines)[:DIFF_LINES]


def compare(repo: Path, base_src: Path, inputs: list[Path], keep: Path | None) -> list[str]:
    """The summary lines of every difference (empty: all identical)."""
    summary = []
    for target in inputs:
        for fmt in FORMATS:
            name = f"{target.name}.{fmt}"
            old_rc, old, old_err = render(base_src, repo, target, fmt)
            new_rc, new, new_err = render(repo / "src", repo, target, fmt)
            old, new = normalise(fmt, old), normalise(fmt, new)
            if keep is not None:
                (keep / f"revision-{name}").write_bytes(old)
                (keep / f"worktree-{name}").write_bytes(new)
            if old_rc != new_rc:
                summary.append(f"{name}: exit code {old_rc} -> {new_rc}")
                summary += [f"  stderr: {e.decode('utf-8', 'replace').strip()[-300:]}"
                            for e in (old_err, new_err) if e.strip()]
            if old != new:
                summary.append(f"{name}: reports differ ({len(old)} -> {len(new)} bytes)")
                summary += ["  " + line for line in differences(name, old, new)]
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revision", nargs="?", default="HEAD")
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1],
                        help="the repository (default: the one holding this script)")
    parser.add_argument("--input", type=Path, action="append", dest="inputs",
                        help="a tree or Compose file to audit (repeatable; default: "
                        "examples/homelab and the shared corpus)")
    parser.add_argument("--keep", type=Path, help="write the normalised reports here")
    args = parser.parse_args(argv)
    try:
        repo = Path(git(args.repo, "rev-parse", "--show-toplevel"))
        commit = git(repo, "rev-parse", "--verify", f"{args.revision}^{{commit}}")
        inputs = [p.resolve() for p in args.inputs] if args.inputs else default_inputs(repo)
        missing = [str(p) for p in inputs if not p.exists()]
        if missing:
            raise Unusable(f"no such input: {', '.join(missing)}")
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="labwarden-compare-") as tmp:
            checkout = Path(tmp) / "revision"
            git(repo, "worktree", "add", "--detach", "--quiet", str(checkout), commit)
            try:
                check_imports_from(checkout / "src", repo)
                check_imports_from(repo / "src", repo)
                summary = compare(repo, checkout / "src", inputs, args.keep)
            finally:
                git(repo, "worktree", "remove", "--force", str(checkout))
    except (Unusable, subprocess.TimeoutExpired) as exc:
        print(f"compare_reports: {exc}", file=sys.stderr)
        return 2
    checked = f"{len(inputs)} input(s) x {len(FORMATS)} formats, {commit[:12]} vs working tree"
    if summary:
        print(f"reports differ ({checked}):", *summary, sep="\n")
        return 1
    print(f"identical: {checked}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
