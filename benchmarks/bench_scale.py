#!/usr/bin/env python3
"""How labwarden's Compose audit scales: one file of N services, and a tree of N/10
projects of ten services each, for N = 1k, 5k, 10k, 20k.

Every rule and the loader must be linear (or n log n) in services, files and findings: a
rule comparing every service with every other took 32 s at 10k services and 285 s at 20k.
Each size is a whole `labwarden audit DIR --format json` process, started fresh; the
table gives its wall time, peak memory and the ratio to the size before it, per doubling
of services (linear: about 2x; quadratic: about 4x).

    python benchmarks/bench_scale.py [--sizes 1000,5000,10000,20000] [--runs 1]
                                     [--profile N]   # cProfile of one in-process audit

Stdlib only; labwarden comes from the environment running the script. Run by hand, never
by the tests: timings on a shared machine are noise.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_SIZES = (1000, 5000, 10000, 20000)
PER_PROJECT = 10


def service(i: int, count: int) -> str:
    """A service with what the rules read: an image, ports, volumes, environment, labels,
    a dependency on its neighbour (and sometimes a one-shot job), a container name, every
    fifth one without a restart policy (the rule that compared every service), every third
    one with a DOCKER_HOST naming its neighbour (the rules that looked up every name)."""
    lines = [f"  s{i}:",
             f"    image: registry.example.com/app{i % 50}:1.{i % 7}",
             f"    container_name: c{i}",
             "    ports:",
             f"      - \"127.0.0.1:{10000 + i % 50000}:80\"",
             "    volumes:",
             f"      - ./data/s{i}:/data",
             "    environment:",
             f"      APP_ID: \"{i}\"",
             "      DB_PASSWORD: ${DB_PASSWORD:-changeme}",
             f"      DOCKER_HOST: tcp://c{i + 1}:2375" if i % 3 == 0 else "      TZ: UTC",
             "    labels:",
             f"      traefik.http.routers.s{i}.rule: Host(`s{i}.lab.example`)"]
    if i % 5:
        lines.append("    restart: unless-stopped")
    if i + 1 < count:
        condition = "service_completed_successfully" if i % 97 == 0 else "service_started"
        lines += ["    depends_on:", f"      s{i + 1}:", f"        condition: {condition}"]
    return "\n".join(lines)


def compose(count: int, first: int = 0) -> str:
    body = "\n".join(service(first + i, first + count) for i in range(count))
    return "services:\n" + body + "\n"


def make_file(root: Path, count: int) -> Path:
    target = root / f"file-{count}"
    target.mkdir()
    (target / "compose.yaml").write_text(compose(count), encoding="utf-8")
    (target / ".env").write_text("DB_PASSWORD=example-not-a-secret\n", encoding="utf-8")
    return target


def make_tree(root: Path, count: int) -> Path:
    target = root / f"tree-{count}"
    for p in range(max(1, count // PER_PROJECT)):
        project = target / f"p{p}"
        project.mkdir(parents=True)
        (project / "compose.yaml").write_text(compose(PER_PROJECT, p * PER_PROJECT),
                                              encoding="utf-8")
    return target


def measure(path: Path, jobs: str | None) -> tuple[float, int, int]:
    """(wall seconds, peak RSS in MiB, exit code) of one audit process."""
    argv = [sys.executable, "-m", "labwarden", "audit", str(path), "--format", "json",
            "-o", os.devnull]
    if jobs:
        argv += ["--jobs", jobs]
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.stderr.close()
    return wall, usage.ru_maxrss // 1024, os.waitstatus_to_exitcode(status)


def profile(path: Path) -> None:
    import cProfile
    import pstats

    from labwarden.audit.compose import AuditOptions, audit

    profiler = cProfile.Profile()
    profiler.enable()
    audit([str(path)], AuditOptions(jobs=1))
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    parser.add_argument("--runs", type=int, default=1, help="runs per size (best is kept)")
    parser.add_argument("--jobs", default=None, help="--jobs for the tree (default: auto)")
    parser.add_argument("--profile", type=int, metavar="N",
                        help="profile one in-process audit of an N-service file, then stop")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="lw-scale-") as tmp:
        root = Path(tmp)
        if args.profile:
            profile(make_file(root, args.profile))
            return 0
        print(f"# {os.cpu_count()} CPUs · Python {sys.version.split()[0]} · load "
              f"{os.getloadavg()[0]:.2f} · best of {args.runs}")
        print("| shape | services | wall s | peak MiB | exit | x per doubling |")
        print("|---|---:|---:|---:|---:|---:|")
        for shape, make, jobs in (("one file", make_file, "1"), ("tree", make_tree, args.jobs)):
            previous = None
            for count in sizes:
                path = make(root, count)
                wall, rss, code = min(measure(path, jobs) for _ in range(args.runs))
                ratio = ""
                if previous is not None:
                    doublings = math.log2(count / previous[0])
                    ratio = f"{(wall / previous[1]) ** (1 / doublings):.2f}"
                print(f"| {shape} | {count:,} | {wall:.2f} | {rss} | {code} | {ratio} |",
                      flush=True)
                previous = (count, wall)
    return 0


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    sys.exit(main())
