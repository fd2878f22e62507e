"""Run every probe the targets call for, concurrently, each bounded in time.

A probe module `labwarden.sources.live.<kind>` exposes `async def probe(target, options)`
returning a fact or a list of facts. A dead, black-holed or slow-dripping target costs at
most `options.deadline` seconds and never stalls the others; what could not be checked is
a Diagnostic of level "error" at the target, so the exit code says the audit is partial.
"""

from __future__ import annotations

import asyncio
import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from labwarden.model import Diagnostic
from labwarden.sources.live.targets import Target

if TYPE_CHECKING:
    from labwarden.sources.backup.config import BackupConfig

# Common service and administration ports for `tcp://` scans (seed 3.1 and 9.2).
DEFAULT_SCAN_PORTS = (
    21, 22, 23, 25, 53, 80, 81, 110, 111, 139, 143, 443, 445, 993, 995, 1433, 1883, 2049,
    2375, 2376, 3000, 3100, 3306, 3389, 5000, 5432, 5601, 5672, 5678, 5900, 6379, 8000,
    8006, 8080, 8081, 8086, 8123, 8443, 8888, 9000, 9001, 9090, 9093, 9100, 9200, 9443,
    11211, 15672, 19999, 27017,
)

@dataclass
class ProbeOptions:
    timeout: float = 5.0             # one connection or read
    deadline: float = 30.0           # one probe, all its connections together
    concurrency: int = 32            # probes in flight at once
    ca_file: str | None = None       # a private CA the user trusts (the homelab norm)
    tls_profile: str = "intermediate"   # Mozilla server-side TLS: intermediate | modern
    check_default_credentials: bool = False
    ssh_key: str | None = None       # enables host collectors over SSH
    ssh_known_hosts: str | None = None
    ssh_accept_unknown_host: bool = False   # trust on first use, for a host not in known_hosts
    ssh_sudo: bool = False           # run the read-only commands with `sudo -n`
    scan_ports: tuple[int, ...] = DEFAULT_SCAN_PORTS
    http_port: int | None = None     # the plain-HTTP port for the redirect check; 0: skip
    resolve: dict[str, str] | None = None   # "host[:port]" -> address, like curl --resolve
    tls_connections: int = 8         # handshakes in flight per TLS target
    # A Proxmox API token (user@realm!id=secret) for pve:// targets; else the environment's
    # LABWARDEN_PVE_TOKEN. A secret: kept out of the repr.
    pve_token: str | None = field(default=None, repr=False)
    backup: BackupConfig | None = None   # restic:/borg: targets: passwords' places, results


def probes_for(target: Target, options: ProbeOptions) -> tuple[str, ...]:
    """The probe modules (`labwarden.sources.live.<kind>`) the target calls for, by the
    source table: each live source names its schemes and the options it needs."""
    from labwarden.sources.registry import probes_for as sources_for

    return tuple(s.probe.rpartition(".")[2] for s in sources_for(target.scheme, options))


def fact_types(kind: str) -> set[type]:
    """The fact types the probe `kind` yields (for checklist coverage)."""
    from labwarden.sources.registry import SOURCES

    return {t for s in SOURCES if s.probe and s.probe.rpartition(".")[2] == kind
            for t in s.fact_types()}


async def collect(targets: list[Target], options: ProbeOptions,
                  origins: dict[int, str] | None = None) -> tuple[list, list[Diagnostic]]:
    """Every probe's facts, and its diagnostics. With `origins`, `id(fact)` maps to the
    target it came from, as written: a host's facts belong to it whatever name they carry."""
    semaphore = asyncio.Semaphore(options.concurrency)
    diagnostics: list[Diagnostic] = []

    async def run(kind: str, target: Target) -> list:
        async with semaphore:
            try:
                module = importlib.import_module(f"labwarden.sources.live.{kind}")
                found = await asyncio.wait_for(module.probe(target, options), options.deadline)
            except asyncio.TimeoutError:
                diagnostics.append(Diagnostic(
                    "error", "probe-timeout", f"{kind} probe gave no answer within "
                    f"{options.deadline:g} s: not checked", target.location))
                return []
            except Exception as exc:  # noqa: BLE001 - one probe's bug must not end the audit
                diagnostics.append(Diagnostic(
                    "error", "probe-failed", f"{kind} probe failed: {type(exc).__name__}",
                    target.location))
                return []
        facts = found if isinstance(found, list) else [found]
        for fact in facts:
            if origins is not None:
                origins[id(fact)] = target.raw
            for diagnostic in getattr(fact, "diagnostics", ()) or ():
                diagnostics.append(diagnostic)
        return facts

    jobs = [run(kind, target) for target in targets for kind in probes_for(target, options)]
    results = await asyncio.gather(*jobs)
    return [fact for facts in results for fact in facts], diagnostics


def collect_sync(targets: list[Target], options: ProbeOptions,
                 origins: dict[int, str] | None = None) -> tuple[list, list[Diagnostic]]:
    return asyncio.run(collect(targets, options, origins))
