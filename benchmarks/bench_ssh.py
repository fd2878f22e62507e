#!/usr/bin/env python3
"""SSH: labwarden's remote probe (ssh_wire + the SSH rules) against ssh-audit, side by side on
the same loopback sshd's. Run by hand, as root (it starts sshd), never by the test suite:

    .venv/bin/python benchmarks/bench_ssh.py                 # 7 runs per command
    .venv/bin/python benchmarks/bench_ssh.py --runs 15 --targets 50

ssh-audit is installed on first use into its own virtualenv, benchmarks/.venv-ssh-audit/
(`pip install ssh-audit==3.9.0`), unless `--ssh-audit PATH` names one or `--no-install` is given.
The servers are the test suite's (tests/live/ssh/sshd_servers.py): a WEAK and a HARDENED
sshd, plus as many more instances as `--targets` asks (half weak, half hardened, one sshd
per port, as 50 hosts would be). Results go to benchmarks/results/ssh-latest.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "live" / "ssh"))

import sshd_servers
from peer_venv import ensure_peer
from proc_cpu import reaped_cpu

from labwarden.rules.registry import rules_for
from labwarden.settings import DEFAULT
from labwarden.sources.live.collect import ProbeOptions, collect
from labwarden.sources.live.ssh_wire import probe
from labwarden.sources.live.targets import parse_target
from labwarden.sources.sshd_config import SshdConfig, parse_sshd_config, parse_sshd_T

VENV = ROOT / "benchmarks" / ".venv-ssh-audit"
SSH_AUDIT_VERSION = "3.9.0"                       # the version the results were measured with
RESULTS = ROOT / "benchmarks" / "results"

# What a fresh labwarden process does for `labwarden audit ssh://…`: import, probe, judge.
SNIPPET = """
import asyncio, sys
from labwarden.rules.registry import rules_for
from labwarden.sources.live.collect import ProbeOptions, collect
from labwarden.sources.live.ssh_wire import SshServer
from labwarden.sources.live.targets import parse_target
facts, _ = asyncio.run(collect([parse_target(t) for t in sys.argv[1:]],
                               ProbeOptions(concurrency=64)))
print(sum(1 for f in facts for r in rules_for(SshServer) for _ in r.check(f, None)))
"""


# ssh-audit's own audit() called in one process, as labwarden's probe is in-process: prints
# the seconds of each run (after one unmeasured warm-up) as JSON.
SSH_AUDIT_DRIVER = """
import contextlib, io, json, sys, time
from ssh_audit.outputbuffer import OutputBuffer
from ssh_audit.ssh_audit import audit, process_commandline
runs, args = int(sys.argv[1]), sys.argv[2:]
times = []
for index in range(runs + 1):
    with contextlib.redirect_stdout(io.StringIO()):
        out = OutputBuffer()
        aconf = process_commandline(out, args)
        out.json, out.use_colors = True, False
        start = time.perf_counter()
        audit(out, aconf)
        out.write()
        elapsed = time.perf_counter() - start
    if index:
        times.append(elapsed)
print(json.dumps(times))
"""


def ssh_audit_in_process(exe: str, runs: int, args: list[str]) -> list[float]:
    python = str(Path(exe).parent / "python")
    out = subprocess.run([python, "-c", SSH_AUDIT_DRIVER, str(runs), *args],
                         capture_output=True, text=True, env=clean_env(), check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def sshd_cpu(servers) -> float:
    """CPU seconds of the sshd listeners and every connection process they reaped."""
    return reaped_cpu(server.process for server in servers)


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def ssh_audit_path(args) -> str:
    if args.ssh_audit:
        return args.ssh_audit
    return str(ensure_peer(VENV, f"ssh-audit=={SSH_AUDIT_VERSION}", "ssh-audit", args.no_install))


def ssh_audit_version(exe: str) -> str:
    pip = Path(exe).parent / "pip"
    if pip.exists():
        out = subprocess.run([str(pip), "show", "ssh-audit"], capture_output=True, text=True,
                             check=False).stdout
        for line in out.splitlines():
            if line.startswith("Version:"):
                return line.split()[1]
    return "?"


def clean_env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=clean_env(), check=False)
    return time.perf_counter() - start


def judge(fact) -> list[tuple[str, object]]:
    return [(rule.id, hit) for rule in rules_for(type(fact)) for hit in rule.check(fact, DEFAULT)]


async def probe_and_judge(targets: list[str], concurrency: int = 64) -> list:
    facts, _ = await collect([parse_target(t) for t in targets],
                             ProbeOptions(concurrency=concurrency))
    return [judge(f) for f in facts]


def in_process(targets: list[str], concurrency: int = 64) -> float:
    start = time.perf_counter()
    asyncio.run(probe_and_judge(targets, concurrency))
    return time.perf_counter() - start


def series(label: str, runs: int, commands: dict) -> dict[str, list[float]]:
    """Each command `runs` times after one unmeasured warm-up, alternating the order."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for fn in commands.values():
        fn()
    names = list(commands)
    for index in range(runs):
        for name in (names if index % 2 == 0 else names[::-1]):
            times[name].append(commands[name]())
    print(f"  {label}: " + ", ".join(f"{n} {statistics.median(t) * 1000:.0f} ms"
                                     for n, t in times.items()), flush=True)
    return times


def fmt(values: list[float]) -> str:
    med = statistics.median(values) * 1000
    return f"{med:,.0f} ms ({min(values) * 1000:,.0f}–{max(values) * 1000:,.0f})"


# --- which planted weakness each tool reports --------------------------------------------

PLANTED = [
    # (weakness, how labwarden names it, ssh-audit section and algorithm or None)
    ("password authentication offered", ("SSH001", "password"), None),
    ("keyboard-interactive offered", ("SSH002", "keyboard-interactive"), None),
    ("KEX diffie-hellman-group1-sha1", ("SSH003", "diffie-hellman-group1-sha1"),
     ("kex", "diffie-hellman-group1-sha1")),
    ("KEX diffie-hellman-group14-sha1", ("SSH003", "diffie-hellman-group14-sha1"),
     ("kex", "diffie-hellman-group14-sha1")),
    ("KEX diffie-hellman-group-exchange-sha1", ("SSH003", "diffie-hellman-group-exchange-sha1"),
     ("kex", "diffie-hellman-group-exchange-sha1")),
    ("cipher 3des-cbc", ("SSH004", "3des-cbc"), ("enc", "3des-cbc")),
    ("cipher aes128-cbc", ("SSH004", "aes128-cbc"), ("enc", "aes128-cbc")),
    ("MAC hmac-md5", ("SSH005", "hmac-md5"), ("mac", "hmac-md5")),
    ("MAC hmac-sha1", ("SSH005", "hmac-sha1"), ("mac", "hmac-sha1")),
    ("MAC umac-64@openssh.com", ("SSH005", "umac-64@openssh.com"), ("mac", "umac-64@openssh.com")),
    ("host key algorithm ssh-rsa (SHA-1)", ("SSH007", "ssh-rsa"), ("key", "ssh-rsa")),
    ("DSA host key", ("SSH006", "ssh-dss"), ("key", "ssh-dss")),
    ("2048-bit RSA host key (< 3072)", ("SSH006", "2048-bit RSA"), ("key", "rsa-sha2-512")),
    ("PermitRootLogin yes (host only)", ("SSH020", "PermitRootLogin yes"), None),
    ("PasswordAuthentication yes (host)", ("SSH021", "password"), None),
    ("KbdInteractiveAuthentication + PAM (host)", ("SSH022", "keyboard-interactive"), None),
    ("no AllowUsers/AllowGroups (host only)", ("SSH024", "AllowUsers"), None),
    ("MaxAuthTries 10 (host only)", ("SSH025", "MaxAuthTries 10"), None),
    ("X11Forwarding yes (host only)", ("SSH027", "X11"), None),
]


def ssh_audit_json(exe: str, address: str) -> dict:
    out = subprocess.run([exe, "-j", "--skip-rate-test", address], capture_output=True,
                         text=True, env=clean_env(), check=False).stdout
    return json.loads(out)


def ssh_audit_flags(report: dict, section: str, algorithm: str) -> bool:
    for entry in report.get(section, []):
        if entry.get("algorithm") == algorithm:
            notes = entry.get("notes", {})
            return bool(notes.get("fail") or notes.get("warn"))
    return False


def ssh_audit_count(report: dict) -> tuple[int, int]:
    fail = warn = 0
    for section in ("kex", "key", "enc", "mac"):
        for entry in report.get(section, []):
            fail += bool(entry.get("notes", {}).get("fail"))
            warn += bool(entry.get("notes", {}).get("warn")) and not entry["notes"].get("fail")
    return fail, warn


def labwarden_reports(hits, rule_id: str, needle: str) -> bool:
    return any(rid == rule_id and (needle in hit.message or needle in hit.evidence)
               for rid, hit in hits)


def effective_config(path: Path) -> SshdConfig:
    out = subprocess.run([sshd_servers.sshd_binary(), "-T", "-f", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return parse_sshd_T(out, file_config=parse_sshd_config(str(path)))


# --- main --------------------------------------------------------------------------------

def write_readme_block(text: str) -> None:
    readme = ROOT / "benchmarks" / "README.md"
    begin, end = "<!-- ssh-results:begin -->", "<!-- ssh-results:end -->"
    content = readme.read_text()
    if begin not in content or end not in content:
        return
    body = text.split("\n", 2)[2].strip().replace("\n## ", "\n#### ")   # no title
    before, _, rest = content.partition(begin)
    _, _, after = rest.partition(end)
    readme.write_text(f"{before}{begin}\n{body}\n{end}{after}")


def render(header, per_target, pam, concurrent, many, cpu, floors, reports) -> str:
    med = statistics.median
    lines = ["# SSH benchmark: labwarden vs ssh-audit", "", header, "", "## One target", "",
             "| command | weak sshd | hardened sshd |", "|---|---|---|"]
    for name in per_target["weak"]:
        lines.append(f"| {name} | {fmt(per_target['weak'][name])} | "
                     f"{fmt(per_target['hardened'][name])} |")
    lines += ["", "Speed-up (ssh-audit median / labwarden median), like for like:", ""]
    for peer, mine in (("ssh-audit (in-process)", "labwarden (in-process)"),
                       ("ssh-audit --skip-rate-test (in-process)", "labwarden (in-process)"),
                       ("ssh-audit", "labwarden (process)"),
                       ("ssh-audit --skip-rate-test", "labwarden (process)")):
        ratios = [med(per_target[k][peer]) / med(per_target[k][mine])
                  for k in ("weak", "hardened")]
        lines.append(f"- {peer} / {mine}: weak {ratios[0]:.1f}×, hardened {ratios[1]:.1f}×")
    lines += ["", "What a fresh process pays before it probes anything:", "",
              "| command | wall time |", "|---|---|"]
    lines += [f"| `{name}` | {fmt(values)} |" for name, values in floors.items()]
    lines += [
        "",
        (f"With `PermitEmptyPasswords yes` and PAM, labwarden (in-process) on the weak sshd "
         f"takes {fmt(pam['labwarden (in-process)'])}: sshd answers the `none` authentication "
         "request only after a failed empty-password PAM check (pam_unix's failure delay). "
         "The timed weak server leaves that one host-only setting out."),
        "",
        f"## {len(many)} targets at once",
        "",
        (f"{len(many)} sshd instances, one per port ({len(many) - len(many) // 2} weak, "
         f"{len(many) // 2} hardened), probed together."),
        "",
        "| command | wall time |",
        "|---|---|",
    ]
    lines += [f"| {name} | {fmt(values)} |" for name, values in concurrent.items()]
    wall, client_cpu, server_cpu = cpu
    one = statistics.mean([med(per_target[k]["labwarden (in-process)"])
                           for k in ("weak", "hardened")])
    one_proc = statistics.mean([med(per_target[k]["labwarden (process)"])
                                for k in ("weak", "hardened")])
    many_time = med(concurrent["labwarden (in-process, concurrency 64)"])
    many_proc = med(concurrent["labwarden (process)"])
    lines += [
        "",
        (f"Where the time goes (labwarden in-process, median of 3 runs): wall "
         f"{wall * 1000:.0f} ms; labwarden's own CPU {client_cpu * 1000:.0f} ms; the "
         f"{len(many)} sshd's CPU {server_cpu * 1000:.0f} ms (listeners and the connection "
         f"processes they reap, from /proc/PID/stat), all on the same {os.cpu_count()} CPUs."),
        "",
        (f"- labwarden in-process: {len(many)} targets take {many_time / one:.1f}× one target "
         f"(mean of weak and hardened, {one * 1000:.0f} ms); its own CPU for all of them is "
         f"{client_cpu / one:.1f}× one target's wall time."),
        (f"- labwarden process: {len(many)} targets take {many_proc / one_proc:.1f}× one "
         f"target ({one_proc * 1000:.0f} ms)."),
        "",
        "## Which planted weakness each tool reports (weak sshd)",
        "",
        ("labwarden: the remote rules (SSH001–SSH011) on the probe, plus the host rules "
         "(SSH020–SSH028) on `sshd -T` of the same server's config; ssh-audit: remote only "
         "(`-j --skip-rate-test`), counted as reported when the algorithm has a fail or warn "
         "note."),
        "",
        "| planted weakness | labwarden | ssh-audit |",
        "|---|---|---|",
    ]
    for label, (rule_id, needle), peer in PLANTED:
        mine = labwarden_reports(reports["lw_weak"], rule_id, needle)
        theirs = ssh_audit_flags(reports["sa_weak"], *peer) if peer else None
        lines.append(f"| {label} | {f'yes ({rule_id})' if mine else 'no'} | "
                     f"{'not tested' if theirs is None else 'yes' if theirs else 'no'} |")
    fail, warn = ssh_audit_count(reports["sa_hard"])
    lines += [(f"| **hardened sshd: findings** | {len(reports['lw_hard'])} | {fail} fail, "
               f"{warn} warn |"), ""]
    lines += ["## Targets", "",
              ("The issue's 5× target is set against sslyze (bench_tls.py); against ssh-audit "
               "it asks for every weakness ssh-audit reports and the ones it misses, and for "
               "50 targets in under twice the time of one."), ""]
    peer_seen = [label for label, (rule_id, needle), peer in PLANTED
                 if peer and ssh_audit_flags(reports["sa_weak"], *peer)]
    missed = [label for label, (rule_id, needle), peer in PLANTED
              if label in peer_seen and not labwarden_reports(reports["lw_weak"], rule_id, needle)]
    beyond = [label for label, (rule_id, needle), peer in PLANTED
              if label not in peer_seen and labwarden_reports(reports["lw_weak"], rule_id, needle)]
    lines.append(f"- every weakness ssh-audit reports ({len(peer_seen)}), and more "
                 f"({len(beyond)} it does not test): **{'met' if not missed else 'not met'}**"
                 + (f" (missed: {', '.join(missed)})" if missed else ""))
    ratio = many_time / one
    floor = server_cpu / (os.cpu_count() or 1)
    lines.append(
        f"- {len(many)} targets in under 2× one (in-process): {ratio:.1f}×: "
        f"**{'met' if ratio < 2 else 'not met'}**" + ("" if ratio < 2 else (
            f". Not reachable on this machine: the {len(many)} sshd's own CPU "
            f"({server_cpu * 1000:.0f} ms, a fork and re-exec of sshd per connection) spread "
            f"over its {os.cpu_count()} CPUs is {floor * 1000:.0f} ms, {floor / one:.1f}× one "
            f"target's wall time, before labwarden does anything; labwarden's wall time is "
            f"{wall / floor:.2f}× that floor.")))
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--targets", type=int, default=50)
    parser.add_argument("--ssh-audit", help="an existing ssh-audit executable")
    parser.add_argument("--no-install", action="store_true")
    parser.add_argument("--out", default=str(RESULTS / "ssh-latest.md"))
    parser.add_argument("--no-write", action="store_true",
                        help="print only: leave results/ and the README alone")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: the benchmark starts sshd")
    exe = ssh_audit_path(args)
    version = ssh_audit_version(exe)
    sshd_version = subprocess.run(["ssh", "-V"], capture_output=True, text=True,
                                  check=False).stderr.strip()
    workdir = Path(tempfile.mkdtemp(prefix="lw-bench-ssh-"))
    servers: list[sshd_servers.SshdServer] = []
    try:
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        weak = sshd_servers.start_sshd(workdir, "weak", "weak", empty_passwords=False)
        hardened = sshd_servers.start_sshd(workdir, "hardened", "hardened")
        weak_pam = sshd_servers.start_sshd(workdir, "weak-emptypw", "weak")
        servers += [weak, hardened, weak_pam]
        many = [weak, hardened]
        for index in range(max(0, args.targets - 2)):
            kind = "weak" if index % 2 == 0 else "hardened"
            server = sshd_servers.start_sshd(workdir, f"{kind}-{index}", kind,
                                             empty_passwords=False)
            servers.append(server)
            many.append(server)
        print(f"started {len(servers)} sshd in {time.perf_counter() - start:.1f} s "
              f"({sshd_version}); ssh-audit {version}", flush=True)

        def address(server):
            return f"127.0.0.1:{server.port}"

        per_target = {}
        for server in (weak, hardened):
            commands = {
                "labwarden (in-process)": lambda s=server: in_process([s.target]),
                "labwarden (process)": lambda s=server: timed(
                    [sys.executable, "-c", SNIPPET, s.target]),
                "ssh-audit": lambda s=server: timed([exe, "-j", address(s)]),
                "ssh-audit --skip-rate-test": lambda s=server: timed(
                    [exe, "-j", "--skip-rate-test", address(s)]),
            }
            per_target[server.name] = series(f"one target ({server.name})", args.runs, commands)
            for flags, label in (([], "ssh-audit (in-process)"),
                                 (["--skip-rate-test"], "ssh-audit --skip-rate-test (in-process)")):
                per_target[server.name][label] = ssh_audit_in_process(
                    exe, args.runs, ["-j", *flags, address(server)])
        pam = series("one target (weak + PermitEmptyPasswords, PAM)", max(3, args.runs // 2),
                     {"labwarden (in-process)": lambda: in_process([weak_pam.target])})

        # what a fresh process pays before probing anything (before the 50-target runs,
        # whose load lingers)
        floors = series("start-up costs", max(3, args.runs // 2), {
            "python -c pass": lambda: timed([sys.executable, "-c", "pass"]),
            "import asyncio": lambda: timed([sys.executable, "-c", "import asyncio"]),
            "import the probe's cryptography (ssh_crypto)": lambda: timed(
                [sys.executable, "-c", "import labwarden.sources.live.ssh_crypto"]),
            "import labwarden.rules (every rule module)": lambda: timed(
                [sys.executable, "-c", "import labwarden.rules"]),
        })

        targets_file = workdir / "targets.txt"
        targets_file.write_text("".join(f"{address(s)}\n" for s in many))
        many_targets = [s.target for s in many]
        concurrent = series(f"{len(many)} targets at once", max(3, args.runs // 2), {
            "labwarden (in-process, concurrency 64)": lambda: in_process(many_targets, 64),
            "labwarden (in-process, default concurrency 32)":
                lambda: in_process(many_targets, 32),
            "labwarden (process)": lambda: timed([sys.executable, "-c", SNIPPET,
                                                  *many_targets]),
            "ssh-audit -T (32 threads)": lambda: timed([exe, "-j", "-T", str(targets_file)]),
            "ssh-audit -T --skip-rate-test": lambda: timed(
                [exe, "-j", "--skip-rate-test", "-T", str(targets_file)]),
        })

        # where the CPU goes when 50 targets are probed at once
        cpu_runs = []
        for _ in range(3):
            server_before, client_before = sshd_cpu(many), own_cpu()
            wall = in_process(many_targets, 64)
            cpu_runs.append((wall, own_cpu() - client_before, sshd_cpu(many) - server_before))
        wall, client_cpu, server_cpu = sorted(cpu_runs)[1]


        # what each tool reports
        weak_fact = asyncio.run(probe(parse_target(weak.target), ProbeOptions()))
        hard_fact = asyncio.run(probe(parse_target(hardened.target), ProbeOptions()))
        reports = {
            "lw_weak": judge(weak_fact) + judge(effective_config(weak.config)),
            "lw_hard": judge(hard_fact) + judge(effective_config(hardened.config)),
            "sa_weak": ssh_audit_json(exe, address(weak)),
            "sa_hard": ssh_audit_json(exe, address(hardened)),
        }
        header = (f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs (load average "
                  f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after), "
                  f"{sshd_version}, ssh-audit {version}, Python {sys.version.split()[0]}; "
                  f"{args.runs} runs per one-target command (median, min–max), after one "
                  "unmeasured warm-up.")
        text = render(header, per_target, pam, concurrent, many, (wall, client_cpu, server_cpu),
                      floors, reports)
        print(text)
        if not args.no_write:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(text)
            write_readme_block(text)
        return 0
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
