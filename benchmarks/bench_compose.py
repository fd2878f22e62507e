#!/usr/bin/env python3
"""Side-by-side benchmark: labwarden against compose-lint 0.36.2 on real Compose files.

Every measurement is a whole process (interpreter start-up, imports, parsing, rules and
writing the report), started fresh for each run, with its stdout going to a file. Wall time
is `time.perf_counter()` around the child; peak memory and CPU time come from `os.wait4()`
on the child's pid (ru_maxrss is the largest resident set of the child or of any
descendant it reaped, in KiB on Linux: with worker processes it is the biggest single
process, not their sum, hence the extra `--jobs 1` row). Each child is launched by a
fresh minimal interpreter so that no large launcher's memory peak leaks into its figure
(see _LAUNCHER). The tools are run in turn, and their order is reversed on every other run
so neither always runs on a cache the other warmed.

compose-lint is installed into its own virtualenv (benchmarks/.venv-peer) so that its
PyYAML and ours never meet; labwarden runs from the environment running this script.

    python benchmarks/bench_compose.py [--runs 5] [--corpus PATH] [--labwarden PATH]

Stdlib only. Writes benchmarks/results/compose-<date>.md and compose-latest.md, and the
results block of benchmarks/README.md (on the default corpus only).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from peer_venv import ensure_peer

PEER_NAME = "compose-lint"
PEER_VERSION = "0.36.2"
HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "compose"
DEFAULT_SINGLE = "docker__awesome-compose/nextcloud-postgres/compose.yaml"
PEER_VENV = HERE / ".venv-peer"
RESULTS = HERE / "results"
OK_EXIT_CODES = (0, 1, 2)          # both tools: 0 clean, 1 findings, 2 partial/usage
CORPUS_TIME_TARGET = 10.0          # compose-lint time / labwarden time on the whole corpus
SINGLE_TIME_TARGET = 1.0           # a single file: no slower


# --------------------------------------------------------------------------- measuring

@dataclass
class Sample:
    wall_s: float
    cpu_s: float                   # user + system, child and its reaped workers
    maxrss_kib: int
    exit_code: int
    traceback: bool
    stderr_tail: str


@dataclass
class Row:
    scenario: str
    label: str
    tool: str                      # "compose-lint", "labwarden" or "labwarden-extra"
    argv: list[str]
    samples: list[Sample] = field(default_factory=list)

    def failed(self) -> list[Sample]:
        return [s for s in self.samples if s.exit_code not in OK_EXIT_CODES or s.traceback]


# The child inherits its launcher's memory high-water mark: Linux folds the RSS peak of the
# address space a process had before exec() (the launcher's own, shared by vfork) into its
# ru_maxrss. Launching from this script, whose peak grows as it parses reports, would
# inflate every figure; so each run is launched by a fresh, minimal interpreter that only
# spawns, waits and prints. Its own start-up is outside the timed span.
_LAUNCHER = """
import os, sys, time
cwd, out, err = sys.argv[1:4]
argv = sys.argv[4:]
os.chdir(cwd)
files = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
         (os.POSIX_SPAWN_OPEN, 1, out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
         (os.POSIX_SPAWN_OPEN, 2, err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)]
started = time.perf_counter()
pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=files)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
print(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def child_environment(pycache: str) -> dict[str, str]:
    """This environment without PYTHON* settings, with bytecode caching on.

    Both tools run as an installed package normally does: compiled modules cached. A
    PYTHONDONTWRITEBYTECODE in the caller's shell would make labwarden (an editable
    install, no .pyc shipped) recompile every module on every run while compose-lint
    (pip compiles at install) would not. The cache goes to a temporary prefix, filled by
    the warm-up run, so no __pycache__ appears in the source tree.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPYCACHEPREFIX"] = pycache
    return env


CHILD_ENV: dict[str, str] | None = None     # set by main(); None: inherit


def run_once(argv: list[str], cwd: Path, stdout_path: Path) -> Sample:
    """Run argv as a fresh process; return its wall time, CPU time and peak RSS.

    wait4 on the child's pid gives that child's own rusage (with the workers it reaped),
    which getrusage(RUSAGE_CHILDREN) would mix with every other child ever waited for.
    """
    stderr_path = stdout_path.with_name(stdout_path.name + ".stderr")
    launched = subprocess.run([sys.executable, "-I", "-S", "-c", _LAUNCHER, str(cwd),
                               str(stdout_path), str(stderr_path), *argv],
                              check=False, capture_output=True, text=True, env=CHILD_ENV)
    if launched.returncode != 0:
        sys.exit(f"bench: could not start {argv[0]}: "
                 f"{launched.stderr.strip().splitlines()[-1:]}")
    wall, cpu, maxrss, code = launched.stdout.split()
    stderr = stderr_path.read_text(encoding="utf-8", errors="replace")
    tail = stderr.strip().splitlines()[-1][:200] if stderr.strip() else ""
    return Sample(float(wall), float(cpu), int(maxrss), int(code),
                  "Traceback (most recent call last)" in stderr, tail)


def launcher_floor() -> int:
    """The peak RSS (KiB) a trivial child reports: the floor under every RSS figure."""
    with tempfile.TemporaryDirectory(prefix="bench-compose-") as tmp:
        true = shutil.which("true") or "/bin/true"
        return run_once([true], Path(tmp), Path(tmp) / "stdout").maxrss_kib


# --------------------------------------------------------------------------- setup

def corpus_files(corpus: Path) -> list[str]:
    """The corpus' Compose files, relative to it, in SOURCES.tsv order when it is there."""
    sources = corpus / "SOURCES.tsv"
    if sources.is_file():
        lines = sources.read_text(encoding="utf-8").splitlines()
        column = lines[0].split("\t").index("local_file")
        files = [line.split("\t")[column] for line in lines[1:] if line.strip()]
        missing = [f for f in files if not (corpus / f).is_file()]
        if missing:
            sys.exit(f"bench: {len(missing)} files listed in SOURCES.tsv are missing, "
                     f"e.g. {missing[0]}")
        return files
    # No list: the YAML files named like Compose files (not labwarden.yaml, CI files…).
    return sorted(str(p.relative_to(corpus)) for p in corpus.rglob("*")
                  if p.is_file() and p.suffix in (".yml", ".yaml") and "compose" in p.name
                  and ".venv" not in p.parts and ".git" not in p.parts)


def peer_command(args) -> list[str]:
    """compose-lint from its own virtualenv, created on first use."""
    if args.peer:
        exe = Path(args.peer)
    else:
        exe = ensure_peer(PEER_VENV, f"{PEER_NAME}=={PEER_VERSION}", PEER_NAME, args.no_install,
                          stale=lambda exe: peer_version([str(exe)]) != PEER_VERSION)
    version = peer_version([str(exe)])
    if version != PEER_VERSION:
        print(f"bench: warning: {exe} is compose-lint {version}, not {PEER_VERSION}",
              file=sys.stderr)
    return [str(exe)]


def peer_version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv + ["--version"], check=False, capture_output=True,
                             text=True, timeout=60).stdout
    except OSError:
        return ""
    return out.strip().split()[-1] if out.strip() else ""


def labwarden_command(args) -> list[str]:
    """labwarden as a user runs it: the console script of this environment."""
    if args.labwarden:
        return [args.labwarden]
    beside = Path(sys.executable).parent / "labwarden"   # not resolved: venvs use symlinks
    if beside.exists():
        return [str(beside)]
    probe = subprocess.run([sys.executable, "-c", "import labwarden"], check=False,
                           capture_output=True)
    if probe.returncode == 0:
        return [sys.executable, "-m", "labwarden"]
    repo_venv = REPO / ".venv" / "bin" / "labwarden"
    if repo_venv.exists():
        return [str(repo_venv)]
    sys.exit("bench: labwarden is not installed in this environment; run the script with "
             "the project's python (e.g. .venv/bin/python) or pass --labwarden PATH")


def capture(argv: list[str], cwd: Path | None = None) -> str:
    try:
        return subprocess.run(argv, cwd=cwd, check=False, capture_output=True, text=True,
                              timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def load_average() -> str:
    """The 1-minute load average: other work on the host shows up as noise in the figures."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except (OSError, IndexError):
        return "?"


def machine_info(labwarden: list[str], peer: list[str]) -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = capture(["git", "rev-parse", "--short", "HEAD"], REPO) or "unknown"
    if capture(["git", "status", "--porcelain", "--untracked-files=no"], REPO):
        commit += " (with uncommitted changes)"
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu,
        "nproc": str(os.cpu_count()),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "labwarden": capture(labwarden + ["--version"]) or "unknown",
        "labwarden_commit": commit,
        "peer": f"{PEER_NAME} {peer_version(peer)}",
        "floor": f"{launcher_floor() / 1024:.1f} MiB",
        "load": load_average(),
    }


# --------------------------------------------------------------------------- scenarios

CORPUS, SINGLE_TEXT, SINGLE_JSON = "corpus", "single-text", "single-json"
TITLES = {
    CORPUS: "Whole corpus ({n} files, JSON report)",
    SINGLE_TEXT: "One file, default text output ({single})",
    SINGLE_JSON: "One file, JSON output ({single})",
}


def build_rows(lw: list[str], cl: list[str], files: list[str], single: str) -> list[Row]:
    return [
        Row(CORPUS, "compose-lint, file list", "compose-lint",
            cl + ["check", "--format", "json", *files]),
        Row(CORPUS, "labwarden, file list", "labwarden",
            lw + ["audit", "--format", "json", *files]),
        Row(CORPUS, "labwarden, tree (`audit .`)", "labwarden-extra",
            lw + ["audit", "--format", "json", "."]),
        Row(CORPUS, "labwarden, file list, `--jobs 1`", "labwarden-extra",
            lw + ["audit", "--format", "json", "--jobs", "1", *files]),
        Row(SINGLE_TEXT, "compose-lint `check FILE`", "compose-lint",
            cl + ["check", single]),
        Row(SINGLE_TEXT, "labwarden `audit FILE`", "labwarden", lw + ["audit", single]),
        Row(SINGLE_JSON, "compose-lint `--format json`", "compose-lint",
            cl + ["check", "--format", "json", single]),
        Row(SINGLE_JSON, "labwarden `--format json`", "labwarden",
            lw + ["audit", "--format", "json", single]),
    ]


def run_benchmark(rows: list[Row], corpus: Path, runs: int, warmup: int) -> None:
    scenarios = list(dict.fromkeys(r.scenario for r in rows))
    with tempfile.TemporaryDirectory(prefix="bench-compose-") as tmp:
        out = Path(tmp) / "stdout"
        for index in range(warmup + runs):
            measured = index >= warmup
            label = f"run {index - warmup + 1}/{runs}" if measured else "warm-up"
            print(f"bench: {label}", file=sys.stderr, flush=True)
            for scenario in scenarios:
                group = [r for r in rows if r.scenario == scenario]
                if index % 2:              # alternate who goes first, run by run
                    group.reverse()
                for row in group:
                    sample = run_once(row.argv, corpus, out)
                    if measured:
                        row.samples.append(sample)


# --------------------------------------------------------------------------- robustness

def robustness(lw: list[str], cl: list[str], corpus: Path, files: list[str]) -> dict:
    """One JSON run of each mode; check that no corpus file was silently dropped."""
    report: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-compose-") as tmp:
        out = Path(tmp) / "stdout"
        for mode, argv in (("file list", lw + ["audit", "--format", "json", *files]),
                           ("tree", lw + ["audit", "--format", "json", "."])):
            sample = run_once(argv, corpus, out)
            entry = {"exit_code": sample.exit_code, "traceback": sample.traceback,
                     "stderr_tail": sample.stderr_tail}
            try:
                data = json.loads(out.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                entry["error"] = f"JSON output unreadable: {type(exc).__name__}"
                report[mode] = entry
                continue
            entry.update(labwarden_summary(data, files, corpus))
            report[mode] = entry
        sample = run_once(cl + ["check", "--format", "json", *files], corpus, out)
        entry = {"exit_code": sample.exit_code, "traceback": sample.traceback}
        try:
            data = json.loads(out.read_text(encoding="utf-8"))
            entry["findings"] = len(data.get("findings", []))
            entry["files_with_findings"] = len({f.get("file") for f in data.get("findings", [])})
        except (OSError, ValueError, AttributeError):
            entry["error"] = "JSON output unreadable"
        report["compose-lint"] = entry
    return report


def _find(data, *names):
    """The first of `names` at the top level or under "summary" (schema-tolerant)."""
    for scope in (data.get("summary") or {}, data):
        for name in names:
            if isinstance(scope, dict) and name in scope:
                return scope[name]
    return None


def _path_of(item) -> str | None:
    location = item.get("location") if isinstance(item, dict) else None
    if isinstance(location, dict):
        return location.get("path") or location.get("file")
    if isinstance(location, str):
        return location.rsplit(":", 1)[0] if location.rsplit(":", 1)[-1].isdigit() else location
    return item.get("path") or item.get("file") if isinstance(item, dict) else None


def labwarden_summary(data: dict, files: list[str], corpus: Path) -> dict:
    diagnostics = data.get("diagnostics") or []
    findings = data.get("findings") or []
    levels = collections.Counter(d.get("level") for d in diagnostics)
    errors = collections.Counter(d.get("code") for d in diagnostics if d.get("level") == "error")

    def norm(path):
        return os.path.normpath(os.path.join(corpus, path)) if path else None

    corpus_set = {norm(f) for f in files}
    # Files discovery saw and deliberately left out (Compose would not load them) are
    # accounted for by their diagnostic; anything else must have been read.
    skipped = {norm(_path_of(d)) for d in diagnostics
               if d.get("code") in ("not-loaded-by-compose", "ignored-compose-file")}
    skipped &= corpus_set
    scanned = _find(data, "files_scanned")
    listed = data.get("files") or _find(data, "files")
    summary = {
        "files_scanned": scanned,
        "projects": _find(data, "projects"),
        "services": _find(data, "services"),
        "findings": len(findings),
        "diagnostics_by_level": dict(levels),
        "error_codes": dict(errors),
        "not_loaded_by_design": len(skipped),
    }
    if isinstance(listed, list) and listed and all(isinstance(p, str) for p in listed):
        seen = {norm(p) for p in listed}
        summary["dropped"] = sorted(os.path.relpath(p, corpus)
                                    for p in corpus_set - seen - skipped)
    elif isinstance(scanned, int):
        # No per-file list in the report: the count must cover every file not skipped
        # (files_scanned also counts env files read; the corpus ships none).
        summary["unaccounted"] = max(0, len(corpus_set) - len(skipped) - scanned)
    return summary


# --------------------------------------------------------------------------- reporting

def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.2f} s"


def mib(kib: float) -> str:
    return f"{kib / 1024:,.1f} MiB"


def row_table(rows: list[Row]) -> list[str]:
    lines = [("| Scenario | Command | Wall median | Wall min–max | CPU median | "
              "Peak RSS median | RSS min–max | Exit codes |"),
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        if not row.samples:
            continue
        walls = [s.wall_s for s in row.samples]
        rss = [s.maxrss_kib for s in row.samples]
        cpu = [s.cpu_s for s in row.samples]
        codes = ",".join(sorted({str(s.exit_code) for s in row.samples}))
        broken = " ⚠ failed" if row.failed() else ""
        lines.append(f"| {row.scenario} | {row.label} | {ms(statistics.median(walls))} | "
                     f"{ms(min(walls))}–{ms(max(walls))} | {ms(statistics.median(cpu))} | "
                     f"{mib(statistics.median(rss))} | {mib(min(rss))}–{mib(max(rss))} | "
                     f"{codes}{broken} |")
    return lines


def ratio_table(rows: list[Row]) -> tuple[list[str], list[str]]:
    lines = [("| Comparison | Time ratio (compose-lint / labwarden) | Fastest runs' ratio | "
              "Memory ratio (compose-lint / labwarden) | Target | Met |"),
             "|---|---:|---:|---:|---|---|"]
    verdicts = []
    peers = {r.scenario: r for r in rows if r.tool == "compose-lint"}
    for row in rows:
        peer = peers.get(row.scenario)
        if row.tool == "compose-lint" or peer is None or not row.samples or not peer.samples:
            continue
        if row.failed() or peer.failed():
            lines.append(f"| {row.scenario}: {row.label} | n/a (a run failed) | n/a | n/a | | "
                         "no |")
            continue
        t = statistics.median(s.wall_s for s in peer.samples) / statistics.median(
            s.wall_s for s in row.samples)
        # The fastest run of each, beside the medians the target is judged on: on a shared
        # machine whose load changes by the minute, the least disturbed runs of both tools.
        fastest = min(s.wall_s for s in peer.samples) / min(s.wall_s for s in row.samples)
        m = statistics.median(s.maxrss_kib for s in peer.samples) / statistics.median(
            s.maxrss_kib for s in row.samples)
        goal = CORPUS_TIME_TARGET if row.scenario == CORPUS else SINGLE_TIME_TARGET
        target = f"time ≥ {goal:g}×, memory > 1×"
        met = t >= goal and m > 1.0
        lines.append(f"| {row.scenario}: {row.label} | {t:.2f}× | {fastest:.2f}× | {m:.2f}× | "
                     f"{target} | {'yes' if met else '**no**'} |")
        if row.tool == "labwarden":
            verdicts.append(f"{row.scenario}: time {t:.2f}× (target {goal:g}×), memory "
                            f"{m:.2f}× → {'met' if met else 'MISSED'}")
    return lines, verdicts


def robustness_lines(report: dict, n_files: int) -> list[str]:
    lines = []
    for mode in ("file list", "tree"):
        entry = report.get(mode)
        if entry is None:
            continue
        head = (f"- labwarden, {mode}: exit code {entry['exit_code']}"
                f" ({'expected' if entry['exit_code'] in OK_EXIT_CODES else 'UNEXPECTED'}), "
                f"{'a Traceback on stderr' if entry['traceback'] else 'no Traceback on stderr'}")
        if "error" in entry:
            lines.append(f"{head}; {entry['error']}"
                         + (f" (stderr: {entry['stderr_tail']})" if entry["stderr_tail"] else ""))
            continue
        errors = ", ".join(f"{code} ×{count}" for code, count in
                           sorted(entry["error_codes"].items())) or "none"
        levels = ", ".join(f"{level} {count}" for level, count in
                           sorted(entry["diagnostics_by_level"].items(), key=str)) or "none"
        lines.append(f"{head}; files_scanned {entry['files_scanned']} of {n_files} corpus "
                     f"files, {entry['not_loaded_by_design']} reported as not loaded by "
                     f"Compose; {entry['projects']} projects, {entry['services']} services, "
                     f"{entry['findings']} findings; error diagnostics: {errors}; "
                     f"diagnostics by level: {levels}")
        if "dropped" in entry:
            lines.append(f"  - silently dropped files: {len(entry['dropped'])}"
                         + (f" (e.g. {entry['dropped'][0]})" if entry["dropped"] else ""))
        elif "unaccounted" in entry:
            lines.append(f"  - files neither scanned nor reported: {entry['unaccounted']}")
    peer = report.get("compose-lint")
    if peer:
        detail = peer.get("error") or (f"{peer['findings']} findings in "
                                        f"{peer['files_with_findings']} files")
        lines.append(f"- compose-lint, file list: exit code {peer['exit_code']}, "
                     f"{'a Traceback' if peer['traceback'] else 'no Traceback'} on stderr; "
                     f"{detail}")
    return lines


def render(info: dict, rows: list[Row], report: dict, args, n_files: int,
           single: str) -> tuple[str, str, list[str]]:
    """The full results page, the part of it the README shows, and one verdict a target."""
    ratios, verdicts = ratio_table(rows)
    titles = "\n".join(f"- `{key}`: {text.format(n=f'{n_files:,}', single=single)}"
                       for key, text in TITLES.items())
    raw = []
    for row in rows:
        walls = ", ".join(f"{s.wall_s * 1000:.0f}" for s in row.samples)
        rss = ", ".join(f"{s.maxrss_kib / 1024:.0f}" for s in row.samples)
        raw.append(f"- {row.scenario} / {row.label}: wall ms [{walls}]; peak RSS MiB [{rss}]")
        for s in row.failed()[:1]:
            raw.append(f"  - failed run: exit {s.exit_code}; stderr: {s.stderr_tail}")
    summary = "\n".join([
        (f"{info['date']} · {info['cpu']} · {info['nproc']} CPUs · {info['os']} · "
         f"Python {info['python']} · {info['labwarden']} ({info['labwarden_commit']}) · "
         f"{info['peer']} · {args.runs} runs per command after {args.warmup} warm-up, "
         f"order alternated · load average {info['load']} before, {info['load_after']} "
         "after"),
        "",
        titles,
        "",
        *row_table(rows),
        "",
        ("Wall time includes interpreter start-up. CPU is user+system of the process and "
         "the workers it reaped. Peak RSS is `ru_maxrss` from `wait4`: for a process with "
         "workers it is the largest single process, not the sum; no figure can be below "
         f"the launcher's floor ({info['floor']}, what `/bin/true` reports)."),
        "",
        "Ratios of the medians (the targets are judged on these), and of the fastest runs:",
        "",
        *ratios,
        "",
        "Robustness (one JSON run each on the whole corpus):",
        "",
        *robustness_lines(report, n_files),
    ])
    page = "\n".join([
        f"# Compose benchmark: labwarden vs {info['peer']}",
        "",
        summary,
        "",
        "## Raw samples",
        "",
        *raw,
        "",
    ])
    return page, summary, verdicts


README_BEGIN, README_END = "<!-- results:begin -->", "<!-- results:end -->"


def update_readme(summary: str) -> bool:
    """Replace the results block of benchmarks/README.md, if it has the markers."""
    readme = HERE / "README.md"
    try:
        text = readme.read_text(encoding="utf-8")
    except OSError:
        return False
    head, sep, rest = text.partition(README_BEGIN)
    _, sep2, tail = rest.partition(README_END)
    if not (sep and sep2):
        return False
    readme.write_text(f"{head}{README_BEGIN}\n{summary}\n{README_END}{tail}", encoding="utf-8")
    return True


# --------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per command")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured runs first")
    parser.add_argument("--corpus", help=f"Compose corpus (default: {DEFAULT_CORPUS})")
    parser.add_argument("--single", default=DEFAULT_SINGLE,
                        help="the single-file case, relative to the corpus")
    parser.add_argument("--labwarden", help="labwarden executable (default: this environment's)")
    parser.add_argument("--peer", help="compose-lint executable (default: install "
                        f"{PEER_NAME}=={PEER_VERSION} into {PEER_VENV.relative_to(REPO)})")
    parser.add_argument("--no-install", action="store_true",
                        help="never create the peer virtualenv")
    parser.add_argument("--no-write", action="store_true",
                        help="print the results only; leave benchmarks/results/ and the "
                        "README alone")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be ≥ 1 and --warmup ≥ 0")

    corpus = Path(args.corpus) if args.corpus else DEFAULT_CORPUS
    if not corpus.is_dir():
        print(f"bench: no Compose corpus at {corpus}. It is not part of the repository; "
              "pass --corpus PATH to a directory of Compose files. Nothing measured.")
        return 0
    corpus = corpus.resolve()
    files = corpus_files(corpus)
    if not files:
        print(f"bench: no Compose files under {corpus}. Nothing measured.")
        return 0
    single = args.single if (corpus / args.single).is_file() else files[0]

    lw = labwarden_command(args)
    cl = peer_command(args)
    info = machine_info(lw, cl)
    rows = build_rows(lw, cl, files, single)
    print(f"bench: {len(files):,} files in {corpus}; {args.runs} runs of {len(rows)} "
          f"commands", file=sys.stderr)
    global CHILD_ENV
    with tempfile.TemporaryDirectory(prefix="bench-compose-pycache-") as pycache:
        CHILD_ENV = child_environment(pycache)
        run_benchmark(rows, corpus, args.runs, args.warmup)
        report = robustness(lw, cl, corpus, files)
    CHILD_ENV = None
    info["load_after"] = load_average()
    text, summary, verdicts = render(info, rows, report, args, len(files), single)
    print(text)
    for verdict in verdicts:
        print(f"bench: {verdict}", file=sys.stderr)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        dated = RESULTS / f"compose-{dt.date.today().isoformat()}.md"
        dated.write_text(text, encoding="utf-8")
        shutil.copyfile(dated, RESULTS / "compose-latest.md")
        print(f"bench: wrote {dated.relative_to(REPO)} and compose-latest.md", file=sys.stderr)
        if args.corpus is None and update_readme(summary):
            print("bench: updated the results in benchmarks/README.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
