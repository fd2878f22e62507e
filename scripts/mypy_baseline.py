#!/usr/bin/env python3
"""Run mypy on src/ and hold its errors to the recorded baseline: counts only shrink.

The core modules (the `check_untyped_defs` override in pyproject.toml) must have no error
at all. Every other file may have at most the errors `mypy-baseline.json` records for it;
a file it does not list may have none. When a count went down the script says so: run it
with `--update` to record the smaller numbers (it refuses to record a larger one).

    python scripts/mypy_baseline.py                  # check (scripts/test.sh, CI)
    python scripts/mypy_baseline.py --update         # record counts that went down
    python scripts/mypy_baseline.py --update --allow-moves
        # after moving code between files: per-file counts may change and new files may
        # appear, as long as the total does not grow and the core stays at zero
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "mypy-baseline.json"
ERROR = re.compile(r"^(?P<path>[^:\n]+\.pyi?):\d+(?::\d+)?: error: ", re.M)


def core_modules() -> list[str]:
    """The modules of the strict override in pyproject.toml: they must stay at zero."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for override in config["tool"]["mypy"].get("overrides", []):
        if override.get("check_untyped_defs"):
            modules = override["module"]
            return [modules] if isinstance(modules, str) else list(modules)
    return []


def is_core(path: str, core: list[str]) -> bool:
    module = path.removeprefix("src/").removesuffix(".py").removesuffix("/__init__")
    module = module.replace("/", ".")
    return any(module == c or (c.endswith(".*") and (module + ".").startswith(c[:-1]))
               for c in core)


def run_mypy() -> tuple[Counter[str], dict[str, list[str]]]:
    """Errors per file (relative to the repository), and mypy's lines for each file."""
    done = subprocess.run([sys.executable, "-m", "mypy", "--no-pretty", "--no-error-summary",
                           "--show-absolute-path"],
                          cwd=ROOT, capture_output=True, text=True)
    if done.returncode not in (0, 1) or (done.returncode == 1 and not ERROR.search(done.stdout)):
        sys.stderr.write(done.stdout + done.stderr)
        sys.exit(f"mypy did not run (exit {done.returncode})")
    counts: Counter[str] = Counter()
    lines: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        match = ERROR.match(line)
        if match:
            path = Path(match["path"])
            name = path.relative_to(ROOT).as_posix() if path.is_absolute() else path.as_posix()
            counts[name] += 1
            lines.setdefault(name, []).append(name + line[len(match["path"]):])
    return counts, lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true",
                        help="record the current counts (only if none grew)")
    parser.add_argument("--allow-moves", action="store_true",
                        help="with --update: per-file counts may move, the total may not grow")
    args = parser.parse_args()

    recorded: dict[str, int] = (json.loads(BASELINE.read_text())["errors"]
                                if BASELINE.exists() else {})
    current, messages = run_mypy()
    first = not recorded
    core = core_modules()

    problems = [f"{path}: {n} error(s) in a core module (must be 0)"
                for path, n in sorted(current.items()) if is_core(path, core)]
    grown = [f"{path}: {n} error(s), baseline {recorded.get(path, 0)}"
             for path, n in sorted(current.items())
             if n > recorded.get(path, 0) and not is_core(path, core)]
    shrunk = [f"{path}: {current.get(path, 0)} error(s), baseline {n}"
              for path, n in sorted(recorded.items()) if current.get(path, 0) < n]
    total, was = sum(current.values()), sum(recorded.values())

    if problems or (grown and not (args.update and (args.allow_moves or first))):
        for path in sorted(current):
            if is_core(path, core) or current[path] > recorded.get(path, 0):
                print("\n".join(messages[path]))
        print("mypy: new type errors (fix them; the baseline only shrinks):", file=sys.stderr)
        for line in problems + grown:
            print(f"  {line}", file=sys.stderr)
        return 1
    if args.update:
        if total > was and not first:
            print(f"mypy: {total} errors, more than the {was} recorded: not updated",
                  file=sys.stderr)
            return 1
        data = {"comment": "mypy errors per file, outside the core modules; written by "
                           "scripts/mypy_baseline.py --update, counts only go down",
                "total": total, "errors": dict(sorted(current.items()))}
        BASELINE.write_text(json.dumps(data, indent=2) + "\n")
        print(f"mypy: baseline recorded, {total} errors in {len(current)} files (was {was})")
        return 0
    if shrunk:
        print("mypy: fewer errors than the baseline records; run "
              "`python scripts/mypy_baseline.py --update` to keep them down:")
        for line in shrunk:
            print(f"  {line}")
    print(f"mypy: {total} errors, baseline {was}; core modules: 0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
