"""Run every probe the targets call for, concurrently, each bounded in time.

A probe module `labwarden.sources.live.<kind>` exposes `async def probe(target, options)`
returning a fact or a list of facts. A dead, black-holed or slow-dripping target costs at
most `options.deadline` seconds and never stalls the others; what could not be checked is
a Diagnostic of level "error" at the target, so the exit code says the audit is partial.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

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
    # Many hosts in one run (`audit --hosts`): hosts collected at once, each host's probes
    # bounded by `host_deadline` (else `deadline`), the inventory's name for each target
    # (as written) so that its facts and diagnostics say which host they are about.
    host_jobs: int = 8
    host_deadline: float | None = None
    host_names: dict[str, str] | None = None
    progress: Any = None             # start(total), done(label, failed), stop(); or None
    transport: Any = None            # a host transport every host probe uses (collect)


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


# Targets that are hosts: `--jobs` bounds how many of them are collected at once.
HOST_SCHEMES = ("ssh", "local", "snapshot")


def _endpoint(kind: str, target: Target) -> tuple:
    """What a probe of `kind` actually examines: the TLS probe an address and port (every
    path of a site shares them), the header probe a URL, the others the target itself."""
    host = (target.host or "").lower().rstrip(".")
    if kind == "tls":
        return kind, host, target.port or 443
    return kind, target.scheme, host, target.port, target.path, target.user


async def collect(targets: list[Target], options: ProbeOptions,
                  origins: dict[int, str] | None = None,
                  aliases: dict[int, list[str]] | None = None) -> tuple[list, list[Diagnostic]]:
    """Every probe's facts, and its diagnostics. With `origins`, `id(fact)` maps to the
    target it came from, as written: a host's facts belong to it whatever name they carry.

    Each endpoint is probed once: a target named twice, or a site's several paths on one
    host:port (one TLS scan, a header request per path), share a probe; the fact is
    returned once, with its diagnostics once, and `aliases` maps `id(fact)` to the other
    targets (as written) it also answers for, so that their services' evidence has it.

    Hosts are collected at most `host_jobs` at a time (their probes, and every other
    target's, at most `concurrency` at a time), each probe of a host within its
    `host_deadline`: a dead or slow host is a diagnostic naming it, and the others go on."""
    semaphore = asyncio.Semaphore(options.concurrency)
    hosts_at_once = asyncio.Semaphore(max(1, options.host_jobs))
    names = options.host_names or {}
    progress = options.progress
    diagnostics: list[Diagnostic] = []

    async def run(kind: str, target: Target, found_here: list[Diagnostic]) -> list:
        is_host = target.scheme in HOST_SCHEMES
        deadline = (options.host_deadline or options.deadline) if is_host else options.deadline
        async with semaphore:
            try:
                module = importlib.import_module(f"labwarden.sources.live.{kind}")
                found = await asyncio.wait_for(module.probe(target, options), deadline)
            except asyncio.TimeoutError:
                found_here.append(Diagnostic(
                    "error", "probe-timeout", f"{kind} probe gave no answer within "
                    f"{deadline:g} s: not checked", target.location))
                return []
            except Exception as exc:  # noqa: BLE001 - one probe's bug must not end the audit
                found_here.append(Diagnostic(
                    "error", "probe-failed", f"{kind} probe failed: {type(exc).__name__}",
                    target.location))
                return []
        facts = found if isinstance(found, list) else [found]
        for fact in facts:
            if origins is not None:
                origins[id(fact)] = target.raw
            for diagnostic in getattr(fact, "diagnostics", ()) or ():
                found_here.append(diagnostic)
        return facts

    shared: dict[tuple, asyncio.Future] = {}

    async def alias(first: asyncio.Future, target: Target) -> list:
        for fact in await asyncio.shield(first):
            if aliases is not None:
                aliases.setdefault(id(fact), []).append(target.raw)
        return []

    async def run_target(target: Target) -> list:
        found_here: list[Diagnostic] = []
        kinds = probes_for(target, options)
        gate = hosts_at_once if target.scheme in HOST_SCHEMES else contextlib.nullcontext()
        owned, copies = [], []
        for kind in kinds:
            first = shared.get(_endpoint(kind, target))
            if first is None:     # ours to probe: claimed now, before any wait
                owned.append((kind, shared.setdefault(_endpoint(kind, target),
                                                      asyncio.get_running_loop().create_future())))
            else:
                copies.append(first)

        async def own(kind: str, done: asyncio.Future) -> list:
            found: list = []
            try:
                found = await run(kind, target, found_here)
                return found
            finally:
                if not done.done():
                    done.set_result(found)

        async with gate:
            results = await asyncio.gather(*(own(kind, done) for kind, done in owned))
        # Outside the gate: waiting for another target's probe must not hold a host slot.
        for first in copies:
            await alias(first, target)
        name = names.get(target.raw)
        diagnostics.extend(_named(d, name) for d in found_here)
        if progress is not None:
            progress.done(name or target.raw,
                          any(d.level == "error" for d in found_here))
        return [fact for facts in results for fact in facts]

    if progress is not None:
        progress.start(len(targets))
    try:
        results = await asyncio.gather(*(run_target(target) for target in targets))
    finally:
        if progress is not None:
            progress.stop()
    return [fact for facts in results for fact in facts], diagnostics


def _named(diagnostic: Diagnostic, name: str | None) -> Diagnostic:
    """A diagnostic about an inventory host says which one, whatever address it names."""
    if not name or diagnostic.message.startswith(f"{name}: "):
        return diagnostic
    return Diagnostic(diagnostic.level, diagnostic.code, f"{name}: {diagnostic.message}",
                      diagnostic.location)


def collect_sync(targets: list[Target], options: ProbeOptions,
                 origins: dict[int, str] | None = None,
                 aliases: dict[int, list[str]] | None = None) -> tuple[list, list[Diagnostic]]:
    return asyncio.run(collect(targets, options, origins, aliases))
