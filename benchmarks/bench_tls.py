#!/usr/bin/env python3
"""TLS: labwarden's probe and rules against sslyze, on the same loopback servers.

Starts the servers of the TLS tests (tests/live/tls/tls_servers.py: nginx WEAK and STRONG
sites, gnutls-serv with RC4/3DES/NULL/anonymous suites, a scripted SSL 3.0/EXPORT server)
plus one nginx serving the STRONG and the WEAK site on 50 loopback ports each, then times
both tools per target and on 50 targets at once, and tabulates which planted weakness
each one reports. Every connection goes to 127.0.0.1.

    .venv/bin/python benchmarks/bench_tls.py              # 3 runs per measurement
    .venv/bin/python benchmarks/bench_tls.py --runs 5 --no-write

sslyze is installed on first use into benchmarks/.venv-sslyze (`pip install
sslyze==6.3.1`); `--sslyze PATH` names another interpreter that has it. Needs root-free
tools only, except gnutls-serv's private network namespace (`unshare -n`, root).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from peer_venv import ensure_peer

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SSLYZE_VERSION = "6.3.1"
SSLYZE_VENV = HERE / ".venv-sslyze"
FLEET = 50
RESULTS_BEGIN, RESULTS_END = "<!-- tls-results:begin -->", "<!-- tls-results:end -->"

# The planted weaknesses, per target, in the order of the table.
PLANTED = {
    "weak": ["TLS 1.0", "TLS 1.1", "static RSA key exchange", "CBC with SHA-1",
             "DHE group 1024 bits", "RSA key 1024 bits", "SHA-1 signature",
             "expires in 10 days", "host name mismatch"],
    "ciphers": ["TLS 1.0", "TLS 1.1", "RC4", "3DES", "NULL cipher", "anonymous key exchange",
                "MD5 MAC", "static RSA key exchange", "expired", "self-signed (untrusted)"],
    "legacy": ["SSL 3.0", "TLS 1.0", "no TLS 1.2 or 1.3", "EXPORT suites",
               "DHE group 512 bits", "static RSA key exchange", "no secure renegotiation"],
    "strong": [],
}
HOSTS = {"weak": "weak.test", "strong": "strong.test", "ciphers": "ciphers.test",
         "legacy": "legacy.test"}


# --- the labwarden side -----------------------------------------------------------------

def labwarden_detects(result: dict) -> set[str]:
    """The planted weaknesses labwarden's findings name."""
    found = set()
    for hit in result.get("hits", ()):
        rule, text = hit["rule"], hit["message"] + " " + hit["evidence"]
        if rule == "TLS001":
            found |= {label for proto, label in (("SSLv3", "SSL 3.0"), ("TLSv1.0", "TLS 1.0"),
                                                ("TLSv1.1", "TLS 1.1")) if proto in text}
        elif rule == "TLS002":
            found.add("no TLS 1.2 or 1.3")
        elif rule == "TLS003":
            found |= {label for word, label in (("no encryption", "NULL cipher"),
                                               ("no authentication", "anonymous key exchange"),
                                               ("EXPORT", "EXPORT suites")) if word in text}
        elif rule == "TLS004":
            found |= {w for w in ("RC4", "3DES") if w in text}
            if "MD5" in text:
                found.add("MD5 MAC")
        elif rule == "TLS005":
            found.add("static RSA key exchange")
        elif rule == "TLS006" and "_CBC_SHA " in text.replace(")", " ").replace(";", " ") + " ":
            found.add("CBC with SHA-1")
        elif rule == "TLS007":
            found |= {f"DHE group {b} bits" for b in (512, 1024) if f"{b}-bit" in text}
        elif rule == "TLS008":
            found.add("expired")
        elif rule == "TLS009":
            found.add("expires in 10 days")
        elif rule == "TLS010":
            found.add("host name mismatch")
        elif rule == "TLS011":
            found.add("self-signed (untrusted)")
        elif rule == "TLS012":
            found.add("RSA key 1024 bits")
        elif rule == "TLS013":
            found.add("SHA-1 signature")
        elif rule == "TLS015":
            found.add("no secure renegotiation")
    return found


# --- the sslyze side --------------------------------------------------------------------

def sslyze_python(args) -> str:
    if args.sslyze:
        return args.sslyze
    ensure_peer(SSLYZE_VENV, f"sslyze=={SSLYZE_VERSION}", "sslyze", args.no_install)
    return str(SSLYZE_VENV / "bin" / "python")


def sslyze_command(python: str, ca_file: str, json_out: str, targets: list[str]) -> list[str]:
    """The scans that match labwarden's: versions and suites, certificate, Mozilla check."""
    return [python, "-m", "sslyze", "--json_out", json_out, "--sslv3", "--tlsv1", "--tlsv1_1",
            "--tlsv1_2", "--tlsv1_3", "--certinfo", "--certinfo_ca_file", ca_file,
            "--mozilla_config", "intermediate", *targets]


def sslyze_default_command(python: str, targets: list[str]) -> list[str]:
    """sslyze as a user runs it first: no option, so every scan of its default set
    (certificate, every version's suites, compression, fallback, Heartbleed, ROBOT,
    CCS injection, renegotiation, resumption, curves, EMS, early data...)."""
    return [python, "-m", "sslyze", *targets]


def labwarden_cli_command(ca_file: str, out: str, url: str, host: str) -> list[str]:
    """labwarden as a user runs it on one site: the command line, TLS and headers."""
    return [sys.executable, "-m", "labwarden", "audit", url, "--resolve",
            f"{host}=127.0.0.1", "--ca-file", ca_file, "--no-config", "--format", "json",
            "-o", out]


_SSLYZE_ISSUES = {
    "tls_versions": None, "ciphers": None, "dh_param_size": "DHE group",
    "rsa_key_size": "RSA key 1024 bits", "certificate_signatures": "SHA-1 signature",
    "certificate_path_validation": ("self-signed (untrusted)", "host name mismatch"),
}


def sslyze_compliance(stdout: str) -> dict[str, list[str]]:
    """{host:port: [issue lines]} from the Mozilla checker's report."""
    issues: dict[str, list[str]] = {}
    current = None
    for line in stdout.splitlines():
        head = re.match(r"\s+(\S+:\d+): (FAILED|OK)", line)
        if head:
            current = head.group(1)
            issues.setdefault(current, [])
        elif current and line.strip().startswith("* "):
            issues[current].append(line.strip()[2:])
    return issues


def _suites(scan: dict) -> dict[str, list[dict]]:
    found = {}
    for key, label in (("ssl_3_0_cipher_suites", "SSL 3.0"), ("tls_1_0_cipher_suites", "TLS 1.0"),
                       ("tls_1_1_cipher_suites", "TLS 1.1"), ("tls_1_2_cipher_suites", "TLS 1.2"),
                       ("tls_1_3_cipher_suites", "TLS 1.3")):
        result = (scan.get(key) or {}).get("result") or {}
        found[label] = result.get("accepted_cipher_suites") or []
    return found


def _suite_weaknesses(names: set[str]) -> set[str]:
    found = set()
    for name in names:
        if "RC4" in name:
            found.add("RC4")
        if "3DES" in name:
            found.add("3DES")
        if "_WITH_NULL_" in name:
            found.add("NULL cipher")
        if "_anon_" in name:
            found.add("anonymous key exchange")
        if name.endswith("_MD5"):
            found.add("MD5 MAC")
        if "EXPORT" in name:
            found.add("EXPORT suites")
        if name.startswith("TLS_RSA_WITH_"):
            found.add("static RSA key exchange")
        if re.match(r"TLS_(EC)?DHE_\w+_CBC_SHA$", name):
            found.add("CBC with SHA-1")
    return found


def sslyze_detects(server: dict, compliance: list[str]) -> tuple[set[str], set[str]]:
    """(what sslyze's JSON shows, what its Mozilla checker flags) among the planted ones."""
    shown: set[str] = set()
    if server.get("scan_status") != "COMPLETED":
        return shown, set()
    scan = server["scan_result"]
    suites = _suites(scan)
    for label in ("SSL 3.0", "TLS 1.0", "TLS 1.1"):
        if suites[label]:
            shown.add(label)
    if not suites["TLS 1.2"] and not suites["TLS 1.3"] and any(suites.values()):
        shown.add("no TLS 1.2 or 1.3")
    names = {s["cipher_suite"]["name"] for accepted in suites.values() for s in accepted}
    shown |= _suite_weaknesses(names)
    for accepted in suites.values():
        for s in accepted:
            key = s.get("ephemeral_key") or {}
            if key.get("type_name") == "DH" and key.get("size") in (512, 1024):
                shown.add(f"DHE group {key['size']} bits")
    info = (scan.get("certificate_info") or {}).get("result") or {}
    deployments = info.get("certificate_deployments") or []
    if deployments:
        deployment = deployments[0]
        leaf = deployment["received_certificate_chain"][0]
        if (leaf.get("public_key") or {}).get("key_size", 4096) < 2048:
            shown.add("RSA key 1024 bits")
        if (leaf.get("signature_hash_algorithm") or {}).get("name") == "sha1":
            shown.add("SHA-1 signature")
        after = dt.datetime.fromisoformat(leaf["not_valid_after"])
        now = dt.datetime.now(dt.UTC)
        if after < now:
            shown.add("expired")
        elif after - now < dt.timedelta(days=30):
            shown.add("expires in 10 days")
        # sslyze 6 folds the host name into path validation: read why it failed.
        custom = [r for r in deployment.get("path_validation_results") or []
                  if "supplied" in (r.get("trust_store") or {}).get("name", "").lower()]
        errors = " ".join(r.get("validation_error") or "" for r in custom)
        if "no matching subjectAltName" in errors:
            shown.add("host name mismatch")
        if custom and not any(r.get("was_validation_successful") for r in custom) and \
                "no matching subjectAltName" not in errors:
            shown.add("self-signed (untrusted)")
    flagged: set[str] = set()
    for line in compliance:
        key = line.split(":", 1)[0]
        if key == "tls_versions":
            flagged |= {label for word, label in (("'SSLv3'", "SSL 3.0"), ("'TLSv1'", "TLS 1.0"),
                                                 ("'TLSv1.1'", "TLS 1.1")) if word in line}
        elif key == "ciphers":
            flagged |= _suite_weaknesses(set(re.findall(r"'(TLS_\w+)'", line)))
        elif key == "dh_param_size":
            flagged |= {f"DHE group {b} bits" for b in (512, 1024) if f"is {b}," in line}
        elif key == "certificate_path_validation":
            # The checker does not say why; the JSON does (see above).
            flagged |= shown & set(_SSLYZE_ISSUES[key])
        elif _SSLYZE_ISSUES.get(key):
            flagged.add(_SSLYZE_ISSUES[key])
    return shown, flagged


# --- measuring --------------------------------------------------------------------------

def timed(command: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900,
                          check=False)
    return time.perf_counter() - start, proc


def children_cpu() -> float:
    """User + system CPU seconds of every child this process has reaped."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tree_cpu(pid: int) -> float:
    """CPU seconds of a server: the process and its direct children (nginx's workers),
    from /proc/PID/stat."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def sslyze_target(name: str, port: int) -> str:
    return f"{HOSTS[name]}:{port}{{127.0.0.1}}"


def url(name: str, port: int) -> str:
    return f"https://{HOSTS[name]}:{port}"


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sslyze", help="a Python interpreter with sslyze installed")
    parser.add_argument("--no-install", action="store_true")
    parser.add_argument("--no-write", action="store_true",
                        help="print only; leave results/ and README.md alone")
    parser.add_argument("--only-default", action="store_true",
                        help="only the whole-process comparison with sslyze's default scan")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / "tests" / "live" / "tls"))
    import tls_servers

    python = sslyze_python(args)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    work = Path(tempfile.mkdtemp(prefix="bench-tls-"))
    pki = tls_servers.make_pki(work / "pki")
    ca = pki.path("ca.crt")
    sites = tls_servers.nginx_sites(pki)
    fleet_sites = {}
    for kind in ("strong", "weak"):
        for i in range(FLEET):
            fleet_sites[f"{kind}{i}"] = dict(sites[kind])
    servers = [tls_servers.start_nginx(pki, work / "nginx", sites)]
    nginx = servers[0]
    ports = {"weak": nginx.ports["weak"], "strong": nginx.ports["strong"]}
    if not args.only_default:
        servers += [tls_servers.start_nginx(pki, work / "fleet", fleet_sites),
                    tls_servers.start_gnutls(pki, work / "gnutls"),
                    tls_servers.start_legacy(pki)]
        _, fleet, gnutls, legacy = servers
        ports.update(ciphers=gnutls.port, legacy=legacy.port)
    lw = [sys.executable, str(HERE / "tls_worker.py"), ca]
    load_before = os.getloadavg()
    rows, detection = [], {}
    try:
        # Warm-up: one unmeasured run of each tool (page cache, bytecode).
        timed(lw + [url("strong", ports["strong"])], env)
        timed(sslyze_command(python, ca, os.devnull, [sslyze_target("strong", ports["strong"])]), env)

        default_rows = measure_default(args, python, ca, env, work, ports)
        if args.only_default:
            return finish_default(args, default_rows, python, load_before)

        def measure(label: str, lw_urls: list[str], ss_targets: list[str],
                    server_pid: int | None = None) -> dict:
            lw_wall, lw_scan, lw_import, ss_wall, ss_scan = [], [], [], [], []
            lw_cpu, server_cpu = [], []
            lw_out = ss_out = ss_stdout = None
            for run in range(args.runs):
                order = ("lw", "ss") if run % 2 == 0 else ("ss", "lw")
                for tool in order:
                    if tool == "lw":
                        cpu_before = children_cpu()
                        server_before = tree_cpu(server_pid) if server_pid else 0.0
                        wall, proc = timed(lw + lw_urls, env)
                        lw_cpu.append(children_cpu() - cpu_before)
                        if server_pid:
                            server_cpu.append(tree_cpu(server_pid) - server_before)
                        if proc.returncode != 0:
                            raise SystemExit(f"labwarden worker failed: {proc.stderr[-2000:]}")
                        lw_out = json.loads(proc.stdout)
                        lw_wall.append(wall)
                        lw_scan.append(lw_out["scan_s"])
                        lw_import.append(lw_out["import_s"])
                    else:
                        out = work / f"sslyze-{label}.json"
                        wall, proc = timed(sslyze_command(python, ca, str(out), ss_targets), env)
                        ss_wall.append(wall)
                        found = re.search(r"SCANS COMPLETED IN ([\d.]+) S", proc.stdout)
                        ss_scan.append(float(found.group(1)) if found else float("nan"))
                        ss_out, ss_stdout = json.loads(out.read_text()), proc.stdout
            row = {"label": label, "targets": len(lw_urls),
                   "lw_wall": statistics.median(lw_wall), "lw_scan": statistics.median(lw_scan),
                   "lw_import": statistics.median(lw_import),
                   "ss_wall": statistics.median(ss_wall), "ss_scan": statistics.median(ss_scan),
                   "lw_range": (min(lw_wall), max(lw_wall)), "ss_range": (min(ss_wall), max(ss_wall)),
                   "lw_errors": lw_out["errors"], "lw_cpu": statistics.median(lw_cpu),
                   "server_cpu": statistics.median(server_cpu) if server_cpu else None}
            rows.append(row)
            print(f"{label}: labwarden {fmt_ms(row['lw_wall'])} (scan {fmt_ms(row['lw_scan'])}), "
                  f"sslyze {fmt_ms(row['ss_wall'])} (scan {fmt_ms(row['ss_scan'])})",
                  file=sys.stderr)
            return {"lw": lw_out, "ss": ss_out, "ss_stdout": ss_stdout}

        for name in ("strong", "weak", "ciphers", "legacy"):
            got = measure(name, [url(name, ports[name])], [sslyze_target(name, ports[name])])
            result = next(iter(got["lw"]["results"].values()))
            server = got["ss"]["server_scan_results"][0]
            compliance = next(iter(sslyze_compliance(got["ss_stdout"]).values()), [])
            shown, flagged = sslyze_detects(server, compliance)
            detection[name] = {"labwarden": sorted(labwarden_detects(result)),
                               "labwarden_findings": sorted({h["rule"] for h in result["hits"]}),
                               "sslyze_data": sorted(shown), "sslyze_flagged": sorted(flagged),
                               "sslyze_status": server.get("scan_status"),
                               "sslyze_connectivity": server.get("connectivity_status"),
                               "sslyze_compliance": compliance}
        for kind in ("strong", "weak"):
            names = [f"{kind}{i}" for i in range(FLEET)]
            measure(f"{FLEET}× {kind}", [url(kind, fleet.ports[n]) for n in names],
                    [sslyze_target(kind, fleet.ports[n]) for n in names], fleet.proc.pid)
    finally:
        for server in servers:
            server.stop()

    finish_default(args, default_rows, python, load_before)
    load = (load_before, os.getloadavg())
    report = render(rows, detection, args.runs, python, load)
    print(report)
    if not args.no_write:
        (HERE / "results").mkdir(exist_ok=True)
        (HERE / "results" / "tls-latest.md").write_text(report)
        readme = HERE / "README.md"
        text = readme.read_text()
        if RESULTS_BEGIN in text and RESULTS_END in text:
            head, rest = text.split(RESULTS_BEGIN, 1)
            _, tail = rest.split(RESULTS_END, 1)
            readme.write_text(f"{head}{RESULTS_BEGIN}\n{report}\n{RESULTS_END}{tail}")
    return 0


DEFAULT_BEGIN, DEFAULT_END = "<!-- tls-default-results:begin -->", "<!-- tls-default-results:end -->"


def measure_default(args, python: str, ca: str, env: dict, work: Path, ports: dict) -> list:
    """One TLS + headers target, whole process: `labwarden audit https://…` (the TLS probe,
    the header probe, every rule, the JSON report) against `sslyze HOST:PORT` with no
    option (its default scan set), in turn, the order reversed every other run."""
    rows = []
    for name in ("strong", "weak"):
        out = str(work / f"lw-default-{name}.json")
        lw = labwarden_cli_command(ca, out, url(name, ports[name]), HOSTS[name])
        ss = sslyze_default_command(python, [sslyze_target(name, ports[name])])
        timed(lw, env)
        timed(ss, env)
        lw_wall, ss_wall, ss_scan, lw_cpu, ss_cpu = [], [], [], [], []
        for run in range(args.runs):
            for tool in (("lw", "ss") if run % 2 == 0 else ("ss", "lw")):
                if tool == "lw":
                    before = children_cpu()
                    wall, proc = timed(lw, env)
                    lw_cpu.append(children_cpu() - before)
                    if proc.returncode not in (0, 1):
                        raise SystemExit(f"labwarden failed ({proc.returncode}): "
                                         f"{proc.stderr[-2000:]}")
                    lw_wall.append(wall)
                else:
                    before = children_cpu()
                    wall, proc = timed(ss, env)
                    ss_cpu.append(children_cpu() - before)
                    ss_wall.append(wall)
                    found = re.search(r"SCANS COMPLETED IN ([\d.]+) S", proc.stdout)
                    ss_scan.append(float(found.group(1)) if found else float("nan"))
        report = json.loads(Path(out).read_text())
        row = {"label": name, "lw_wall": statistics.median(lw_wall),
               "lw_range": (min(lw_wall), max(lw_wall)), "lw_cpu": statistics.median(lw_cpu),
               "ss_wall": statistics.median(ss_wall), "ss_range": (min(ss_wall), max(ss_wall)),
               "ss_scan": statistics.median(ss_scan), "ss_cpu": statistics.median(ss_cpu),
               "rules": sorted({f["rule_id"] for f in report["findings"]}),
               "errors": [d["message"] for d in report["diagnostics"] if d["level"] == "error"]}
        rows.append(row)
        print(f"default {name}: labwarden {fmt_ms(row['lw_wall'])}, sslyze "
              f"{fmt_ms(row['ss_wall'])} ({row['ss_wall'] / row['lw_wall']:.1f}x)",
              file=sys.stderr)
    return rows


def render_default(rows: list, runs: int, python: str, load) -> str:
    sslyze = subprocess.run(
        [python, "-c", "import importlib.metadata as m; print(m.version('sslyze'))"],
        capture_output=True, text=True, check=False).stdout.strip() or SSLYZE_VERSION
    out = [(f"{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} · {_machine()} · "
            f"sslyze {sslyze} · median (min–max) of {runs} runs after 1 warm-up, order "
            f"alternated · load average {load[0][0]:.2f} before, {load[1][0]:.2f} after"), "",
           "| Target | labwarden audit (TLS + headers) | its CPU | sslyze, default scan | "
           "its CPU | sslyze's own scan time | Ratio (wall) | Ratio (CPU) | Met (≥ 5×, wall) |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        ratio = r["ss_wall"] / r["lw_wall"]
        out.append(f"| {r['label']} | {fmt_ms(r['lw_wall'])} ({fmt_ms(r['lw_range'][0])}–"
                   f"{fmt_ms(r['lw_range'][1])}) | {fmt_ms(r['lw_cpu'])} | "
                   f"{fmt_ms(r['ss_wall'])} ({fmt_ms(r['ss_range'][0])}–"
                   f"{fmt_ms(r['ss_range'][1])}) | {fmt_ms(r['ss_cpu'])} | "
                   f"{fmt_ms(r['ss_scan'])} | {ratio:.1f}× | "
                   f"{r['ss_cpu'] / r['lw_cpu']:.1f}× | {'yes' if ratio >= 5 else '**no**'} |")
    out += ["", "labwarden: `python -m labwarden audit https://HOST:PORT --resolve HOST=127.0.0.1 "
            "--ca-file CA --no-config --format json -o FILE` (TLS probe, header probe, every "
            "rule, JSON report); sslyze: `python -m sslyze HOST:PORT{127.0.0.1}` (no option: "
            "its default scan set). Both fresh processes, `PYTHON*` removed from the "
            "environment, the rest of it (SSL_CERT_FILE included) as the shell has it. "
            "CPU: user + system of the process and the children it reaped (labwarden's "
            "`openssl s_client` for TLS016 included). On a loaded machine both tools wait "
            "for CPU and the wall ratio falls towards the CPU ratio. "
            "labwarden's findings: " + "; ".join(
                f"{r['label']}: {', '.join(r['rules']) or 'none'}" for r in rows) + "."]
    return "\n".join(out)


def finish_default(args, rows: list, python: str, load_before) -> int:
    report = render_default(rows, args.runs, python, (load_before, os.getloadavg()))
    print(report)
    if not args.no_write:
        (HERE / "results").mkdir(exist_ok=True)
        (HERE / "results" / "tls-default-latest.md").write_text(report)
        readme = HERE / "README.md"
        text = readme.read_text()
        if DEFAULT_BEGIN in text and DEFAULT_END in text:
            head, rest = text.split(DEFAULT_BEGIN, 1)
            _, tail = rest.split(DEFAULT_END, 1)
            readme.write_text(f"{head}{DEFAULT_BEGIN}\n{report}\n{DEFAULT_END}{tail}")
    return 0


def _machine() -> str:
    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle
                        if line.startswith("model name")), "")
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu or platform.machine()}), Linux {platform.release()}, " \
           f"Python {platform.python_version()}"


def render(rows: list[dict], detection: dict, runs: int, python: str, load) -> str:
    sslyze = subprocess.run(
        [python, "-c", "import importlib.metadata as m; print(m.version('sslyze'))"],
        capture_output=True, text=True, check=False).stdout.strip() or SSLYZE_VERSION
    out = [(f"{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} · {_machine()} · "
           f"sslyze {sslyze} · median of {runs} runs after 1 warm-up, order alternated · "
           f"load average {load[0][0]:.2f} before, {load[1][0]:.2f} after"),
           "",
           ("| Targets | labwarden wall | labwarden scan | sslyze wall | sslyze scan | "
           "Wall ratio | Scan ratio |"),
           "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['label']} | {fmt_ms(r['lw_wall'])} | {fmt_ms(r['lw_scan'])} | "
                   f"{fmt_ms(r['ss_wall'])} | {fmt_ms(r['ss_scan'])} | "
                   f"{r['ss_wall'] / r['lw_wall']:.1f}× | {r['ss_scan'] / r['lw_scan']:.1f}× |")
    imports = statistics.median(r["lw_import"] for r in rows)
    out += ["", ("Wall: the whole process (interpreter start-up, imports, scan, rules, JSON). "
            "Scan: labwarden's collect() alone; sslyze's own \"SCANS COMPLETED IN\". "
            f"Importing labwarden and loading every rule module of every area (as the "
            f"command line does) took {fmt_ms(imports)} of labwarden's wall time (median).")]
    by = {r["label"]: r for r in rows}
    out += ["", "| Target | Met |", "|---|---|"]
    for name in ("strong", "weak", "ciphers"):
        r = by[name]
        for key, what in (("wall", "wall"), ("scan", "scan")):
            ratio = r[f"ss_{key}"] / r[f"lw_{key}"]
            out.append(f"| {name}: labwarden ≥ 5× faster than sslyze ({what}) | "
                       f"{'yes' if ratio >= 5 else '**no**'} ({ratio:.1f}×) |")
    for kind in ("strong", "weak"):
        many, one = by[f"{FLEET}× {kind}"], by[kind]
        for key, what in (("lw_wall", "wall"), ("lw_scan", "scan")):
            ratio = many[key] / one[key]
            out.append(f"| {FLEET}× {kind} < 2× one {kind} ({what}) | "
                       f"{'yes' if ratio < 2 else '**no**'} ({ratio:.1f}×) |")
    cores = os.cpu_count() or 1
    out += ["", (f"Where the {FLEET}-target time goes (labwarden's runs, medians): nginx's CPU "
                 "(master and workers, from /proc/PID/stat) and labwarden's (the whole "
                 f"process, start-up included, from rusage) share the machine's {cores} CPUs. "
                 f"nginx's CPU over {cores} is the floor the servers set; with labwarden's "
                 "own added, the floor of the run. Both against one target's wall time:"), "",
            ("| Targets | labwarden wall | labwarden CPU | nginx CPU | servers' floor | "
             "run's floor |"),
            "|---|---:|---:|---:|---:|---:|"]
    for kind in ("strong", "weak"):
        many, one = by[f"{FLEET}× {kind}"], by[kind]
        servers = many["server_cpu"] / cores
        run = (many["lw_cpu"] + many["server_cpu"]) / cores
        out.append(f"| {FLEET}× {kind} | {fmt_ms(many['lw_wall'])} | {fmt_ms(many['lw_cpu'])} | "
                   f"{fmt_ms(many['server_cpu'])} | {fmt_ms(servers)} "
                   f"({servers / one['lw_wall']:.1f}× one) | {fmt_ms(run)} "
                   f"({run / one['lw_wall']:.1f}× one) |")
    out += ["", ("Planted weaknesses: ✔ reported, · not reported. sslyze data: its JSON shows "
            "it; sslyze flags: its Mozilla `intermediate` checker names it."), "",
            "| Target | Weakness | labwarden | sslyze data | sslyze flags |", "|---|---|:-:|:-:|:-:|"]
    for name, weaknesses in PLANTED.items():
        d = detection[name]
        for weakness in weaknesses:
            marks = ["✔" if weakness in d[key] else "·"
                     for key in ("labwarden", "sslyze_data", "sslyze_flagged")]
            out.append(f"| {name} | {weakness} | {' | '.join(marks)} |")
        if not weaknesses:
            extra = "; ".join(d["sslyze_compliance"]) or "nothing"
            out.append(f"| {name} | (none planted) | findings: "
                       f"{', '.join(d['labwarden_findings']) or 'none'} | — | {extra} |")
        if d["sslyze_status"] != "COMPLETED":
            out.append(f"| {name} | (sslyze: {d['sslyze_connectivity'] or d['sslyze_status']}) "
                       "| | | |")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
