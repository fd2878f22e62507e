#!/usr/bin/env python3
"""Many hosts in one run: `labwarden audit --hosts` over 20 real sshd hosts against one.

Run by hand, as root (it starts sshd and reads firewalls), never by the test suite:

    .venv/bin/python benchmarks/bench_fleet.py                  # 20 hosts, 5 runs each
    .venv/bin/python benchmarks/bench_fleet.py --hosts 50 --runs 3

Each host is its own OpenSSH daemon (Debian's openssh-server) on a loopback port, with its
own host key, accepting the benchmark's client key for root, as a lab's machines would.
The hosts come from an Ansible INI inventory through labwarden.yaml, so the run takes the
same path an operator's does: inventory, `--hosts` selection, host probe over SSH (a
session with `ss`, `iptables-save`, `ip6tables-save`, `nft` twice, `sshd -T`, `sshd -t` and
SFTP reads of the /proc and /etc files) plus the remote SSH probe, then every rule.

Measured, each command a fresh process (`--runs` times after one warm-up, median and
min-max): one host; all hosts at `--jobs` 1, 4, 8 (the default) and all at once. Around
each run, the CPU time the sshd's spent (the listeners and every process they reaped,
from /proc/PID/stat) and labwarden's own (its rusage): on one machine both sides share the
same CPUs, so the hosts' CPU divided by the CPU count is a floor no client can beat.
Results go to stdout, benchmarks/results/fleet-latest.md and the README block.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from proc_cpu import reaped_cpu

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
README = ROOT / "benchmarks" / "README.md"
MARK_BEGIN, MARK_END = "<!-- fleet-results:begin -->", "<!-- fleet-results:end -->"


@dataclass
class Host:
    name: str
    port: int
    process: subprocess.Popen


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"sshd on port {port} did not start")


# The hosts' root login shell runs every command (sshd runs `bash -c CMD`, and Debian's
# bash reads ~/.bashrc when sshd starts it): a root .bashrc that initialises pyenv, as this
# benchmark machine's does, costs ~0.5 s per command. Each sshd runs in a mount namespace
# of its own where /root/.bashrc is Debian's default one, as on a freshly installed host;
# --keep-bashrc measures with the machine's own.
DEFAULT_BASHRC = "/usr/share/base-files/dot.bashrc"


def sshd_argv(sshd: str, config: Path, keep_bashrc: bool) -> list[str]:
    argv = [sshd, "-D", "-e", "-f", str(config)]
    if keep_bashrc or not (os.path.exists("/root/.bashrc") and os.path.exists(DEFAULT_BASHRC)):
        return argv
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            f'mount --bind {DEFAULT_BASHRC} /root/.bashrc && exec "$0" "$@"', *argv]


def start_hosts(count: int, directory: Path,
                keep_bashrc: bool = False) -> tuple[list[Host], Path, Path]:
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    keygen = shutil.which("ssh-keygen")
    if not os.path.exists(sshd) or keygen is None:
        raise SystemExit("sshd/ssh-keygen not found: apt-get install openssh-server")
    client = directory / "client_ed25519"
    subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(client)], check=True)
    shutil.copy(f"{client}.pub", directory / "authorized_keys")
    os.makedirs("/run/sshd", exist_ok=True)
    hosts, known = [], []
    for index in range(1, count + 1):
        name = f"host{index:02d}"
        home = directory / name
        home.mkdir()
        key = home / "host_ed25519"
        subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        port = free_port()
        config = home / "sshd_config"
        config.write_text(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {key}
PidFile {home}/sshd.pid
AuthorizedKeysFile {directory}/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups 100
MaxSessions 50
Subsystem sftp internal-sftp
LogLevel ERROR
""")
        process = subprocess.Popen(sshd_argv(sshd, config, keep_bashrc),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        hosts.append(Host(name, port, process))
        kind, blob = (home / "host_ed25519.pub").read_text().split()[:2]
        known.append(f"[127.0.0.1]:{port} {kind} {blob}")
    for host in hosts:
        wait_port(host.port)
    known_hosts = directory / "known_hosts"
    known_hosts.write_text("\n".join(known) + "\n")
    return hosts, client, known_hosts


def stop_hosts(hosts: list[Host]) -> None:
    for host in hosts:
        host.process.terminate()
    for host in hosts:
        try:
            host.process.wait(5)
        except subprocess.TimeoutExpired:
            host.process.kill()


def hosts_cpu(hosts: list[Host]) -> float:
    """CPU seconds of the sshd listeners and of every process they reaped (the connection
    processes, which reaped the sessions and the commands)."""
    return reaped_cpu(host.process for host in hosts)


def write_lab(directory: Path, hosts: list[Host]) -> Path:
    (directory / "hosts.ini").write_text("[fleet]\n" + "".join(
        f"{h.name} ansible_host=127.0.0.1 ansible_port={h.port} ansible_user=root\n"
        for h in hosts))
    config = directory / "labwarden.yaml"
    config.write_text("ansible_inventory: hosts.ini\n")
    return config


def clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["LABWARDEN_PROGRESS"] = "0"
    return env


def one_run(argv: list[str], hosts: list[Host], cwd: Path) -> tuple[float, float, float, int]:
    """Wall seconds, labwarden's CPU seconds, the hosts' CPU seconds, the exit code."""
    before_hosts = hosts_cpu(hosts)
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, env=clean_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.returncode not in (0, 1) or "Traceback" in stderr:
        raise SystemExit(f"{' '.join(argv)} failed ({process.returncode}): {stderr[-2000:]}")
    time.sleep(0.3)                  # the listeners reap their connection processes
    return wall, usage.ru_utime + usage.ru_stime, hosts_cpu(hosts) - before_hosts, \
        process.returncode


def check_report(report: Path, expected: int) -> str:
    import json

    data = json.loads(report.read_text())
    errors = [d for d in data["diagnostics"] if d["level"] == "error"]
    if errors:
        raise SystemExit(f"the audit could not collect everything: {errors[:3]}")
    assets = {f["asset"] for f in data["findings"]}
    hosts = {a.split(":", 1)[1] for a in assets if a.startswith("sshd:")}
    if len(hosts) != expected:
        raise SystemExit(f"expected sshd findings on {expected} hosts, got {len(hosts)}")
    return f"{len(data['findings'])} findings on {len(hosts)} hosts, no errors"


def median_range(values: list[float]) -> str:
    return (f"{statistics.median(values):.2f} s ({min(values):.2f}–{max(values):.2f})"
            if len(values) > 1 else f"{values[0]:.2f} s")


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    sshd = subprocess.run(["sshd", "-V"], capture_output=True, text=True).stderr.strip()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} CPUs ({model}), {sshd.splitlines()[0] if sshd else 'sshd'}, "
            f"Python {sys.version.split()[0]}, labwarden {commit}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--keep-bashrc", action="store_true",
                        help="run the hosts' commands with this machine's own /root/.bashrc")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: it starts sshd and reads firewalls")
    directory = Path(tempfile.mkdtemp(prefix="lw-fleet-"))
    os.chmod(directory, 0o700)
    hosts, key, known_hosts = start_hosts(args.hosts, directory, args.keep_bashrc)
    try:
        config = write_lab(directory, hosts)
        report = directory / "report.json"
        base = [sys.executable, "-m", "labwarden", "audit", "--config", str(config),
                "--ssh-key", str(key), "--ssh-known-hosts", str(known_hosts),
                "--format", "json", "-o", str(report), "--fail-on", "never",
                # the hosts share this machine's CPUs with the client: a command queued
                # behind twenty others' must not count as a dead host
                "--timeout", "30", "--host-timeout", "300"]
        n = len(hosts)
        scenarios = {
            "1 host": base + ["--hosts", hosts[0].name],
            f"{n} hosts, --jobs 1": base + ["--hosts", "--jobs", "1"],
            f"{n} hosts, --jobs 4": base + ["--hosts", "--jobs", "4"],
            f"{n} hosts, --jobs 8 (default)": base + ["--hosts"],
            f"{n} hosts, --jobs {n}": base + ["--hosts", "--jobs", str(n)],
        }
        checks = {}
        for label, argv in scenarios.items():        # warm-up and a correctness check
            wall, _, _, _ = one_run(argv, hosts, directory)
            checks[label] = check_report(report, 1 if label == "1 host" else n)
            print(f"  warm-up {label}: {wall:.2f} s", flush=True)
        loads = [os.getloadavg()[0]]
        timings: dict[str, list[tuple[float, float, float]]] = {k: [] for k in scenarios}
        for run in range(args.runs):
            order = list(scenarios.items())
            if run % 2:
                order.reverse()
            for label, argv in order:
                wall, own, server, _ = one_run(argv, hosts, directory)
                timings[label].append((wall, own, server))
        loads.append(os.getloadavg()[0])
    finally:
        stop_hosts(hosts)
        shutil.rmtree(directory, ignore_errors=True)

    cpus = os.cpu_count() or 1
    bashrc = "this machine's own" if args.keep_bashrc else "Debian's default"
    one = statistics.median(w for w, _, _ in timings["1 host"])
    lines = [
        f"{dt.date.today().isoformat()}, {machine()}; the hosts' root .bashrc: {bashrc}; "
        f"load average {loads[0]:.1f} before, "
        f"{loads[1]:.1f} after; {args.runs} runs per command after one warm-up, fresh "
        "process each, median (min–max).",
        "",
        "| command | wall | × one host | labwarden CPU | the hosts' CPU | floor (hosts' CPU "
        f"/ {cpus}) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, rows in timings.items():
        walls = [w for w, _, _ in rows]
        own = statistics.median(c for _, c, _ in rows)
        server = statistics.median(s for _, _, s in rows)
        lines.append(f"| {label} | {median_range(walls)} | "
                     f"{statistics.median(walls) / one:.1f}× | {own:.2f} s | {server:.2f} s | "
                     f"{server / cpus:.2f} s |")
    lines += ["", "Each run checked: " + "; ".join(f"{k}: {v}" for k, v in checks.items())
              + "."]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "fleet-latest.md").write_text(text + "\n")
        readme = README.read_text()
        if MARK_BEGIN in readme and MARK_END in readme:
            head, rest = readme.split(MARK_BEGIN, 1)
            readme = head + MARK_BEGIN + "\n" + text + "\n" + MARK_END + \
                rest.split(MARK_END, 1)[1]
            README.write_text(readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
