"""The table of sources: one line each says what a source reads, the facts it yields, the rule
modules that judge them, how its rule fixtures load, and which checklist evidence it gives.

Everything that used to keep its own string-keyed table (which rule modules to import for a
fact, which probes a URL scheme calls for, which fact types a probe covers, the checklist's
evidence kinds, SARIF's area tags, the rule-ID prefixes) reads this one. Entries hold module
paths, not modules: importing the table imports no source and no rule, so `audit` of one
Compose file still starts without the TLS or SSH code.

Adding a source is one module under `labwarden.sources` plus one `Source(...)` line here
(see docs/adding-a-source.md).
"""

from __future__ import annotations

import re
from importlib import import_module

from labwarden._record import FrozenRecord, set_frozen


class Source(FrozenRecord):
    """One kind of evidence labwarden collects."""

    __slots__ = ("name", "title", "facts", "rules", "evidence", "probe", "schemes", "requires",
                 "fixtures", "hint")
    name: str
    title: str
    facts: tuple[str, ...]          # "module:Class" of every fact type it yields
    rules: tuple[str, ...]          # modules under labwarden.rules that judge those facts
    evidence: tuple[str, ...]       # checklist `automated_by` kinds its facts answer
    # Live sources: the module with `async def probe(target, options)`, the target schemes
    # that call it, and per scheme ("*" for all) the probe option that must be set for it.
    probe: str | None
    schemes: tuple[str, ...]
    requires: tuple[tuple[str, str], ...]
    # How a rule's fixture directory is read: "tree" (audited as a directory of files, the
    # way the source's command reads one) or "facts" (facts.yaml, through the fact module's
    # `facts_from_yaml`).
    fixtures: str
    # How an operator gets this evidence collected for a service, for the checklist's
    # "not examined: needs …" notes.
    hint: str

    def __init__(self, name: str, title: str, facts: tuple[str, ...], rules: tuple[str, ...],
                 evidence: tuple[str, ...], probe: str | None = None,
                 schemes: tuple[str, ...] = (), requires: tuple[tuple[str, str], ...] = (),
                 fixtures: str = "tree", hint: str = ""):
        set_frozen(self, "name", name)
        set_frozen(self, "title", title)
        set_frozen(self, "facts", facts)
        set_frozen(self, "rules", rules)
        set_frozen(self, "evidence", evidence)
        set_frozen(self, "probe", probe)
        set_frozen(self, "schemes", schemes)
        set_frozen(self, "requires", requires)
        set_frozen(self, "fixtures", fixtures)
        set_frozen(self, "hint", hint)

    def fact_types(self) -> tuple[type, ...]:
        return tuple(_resolve(path) for path in self.facts)

    def probes(self, scheme: str, options: object) -> bool:
        """Whether a target of `scheme` calls this source's probe under `options`."""
        if self.probe is None or scheme not in self.schemes:
            return False
        for where, option in self.requires:
            if where in ("*", scheme) and not getattr(options, option, False):
                return False
        return True


class Area(FrozenRecord):
    """A rule-ID prefix: the band of rules about one area, and its SARIF tag."""

    __slots__ = ("prefix", "tag", "title")
    prefix: str
    tag: str
    title: str

    def __init__(self, prefix: str, tag: str, title: str):
        set_frozen(self, "prefix", prefix)
        set_frozen(self, "tag", tag)
        set_frozen(self, "title", title)


_COMPOSE = "labwarden.sources.compose.model"
_HOST = "labwarden.sources.live.host"
_DOCKER = "labwarden.sources.docker.fact"
_MON = "labwarden.sources.monitoring.facts"

# Probe order matters only for reading: within a scheme, sources probe in table order.
SOURCES: tuple[Source, ...] = (
    Source("compose", "Compose projects, .env and env_file",
           facts=(f"{_COMPOSE}:Service", f"{_COMPOSE}:ComposeProject",
                  f"{_COMPOSE}:ComposeTree", "labwarden.sources.envfile:EnvFile"),
           rules=("compose_schema", "compose_runtime", "compose_mounts", "compose_resources",
                  "compose_naming", "images", "secrets", "exposure", "backup_coverage"),
           evidence=("compose", "secrets"),
           hint="the service's `compose:` project in labwarden.yaml"),
    Source("scripts", "Shell scripts (remediation, maintenance, backups)",
           facts=("labwarden.sources.scripts.fact:ShellScript",), rules=("scripts",),
           evidence=("scripts",), hint="`labwarden scripts` on the remediation scripts"),
    Source("tls", "TLS handshakes", facts=("labwarden.sources.live.tls:TlsFact",),
           rules=("tls",), evidence=("tls",), probe="labwarden.sources.live.tls",
           schemes=("https",), fixtures="facts",
           hint="an https:// URL in the service's `urls:` and `--live`"),
    Source("http", "HTTP responses and security headers",
           facts=("labwarden.sources.live.http:HttpFact",), rules=("headers",),
           evidence=("http",), probe="labwarden.sources.live.http",
           schemes=("https", "http"), fixtures="facts",
           hint="the service's `urls:` and `--live`"),
    Source("ssh", "SSH servers, as the network sees them",
           facts=("labwarden.sources.live.ssh_wire:SshServer",), rules=("ssh",),
           evidence=("ssh",), probe="labwarden.sources.live.ssh_wire", schemes=("ssh",),
           fixtures="facts", hint="the host's ssh:// address and `--live`"),
    Source("host", "Hosts: sshd -T, listening sockets, firewall rulesets",
           facts=(f"{_HOST}:HostFacts", f"{_HOST}:HostExposure",
                  "labwarden.sources.sshd_config:SshdConfig"),
           rules=("firewall", "ssh"), evidence=("host", "firewall", "ssh"),
           probe=_HOST, schemes=("ssh", "local", "snapshot"),
           requires=(("ssh", "ssh_key"),), fixtures="facts",
           hint="the service's `host:` with an `address:` (snapshot:, local:// or ssh:// "
                "with --ssh-key)"),
    Source("ports", "TCP connect scans", facts=("labwarden.sources.live.ports:PortScan",),
           rules=("firewall",), evidence=("ports",), probe="labwarden.sources.live.ports",
           schemes=("tcp",), fixtures="facts",
           hint="a tcp:// target of the host and `--live`"),
    Source("proxy", "Reverse proxies: Nginx Proxy Manager, Traefik, Caddy",
           facts=tuple(f"labwarden.sources.proxy.model:{name}" for name in
                       ("ProxyRoute", "ProxyServer", "ProxyLiveCheck")),
           rules=("proxy",), evidence=("proxy",), probe="labwarden.sources.live.proxy",
           schemes=("npm", "traefik", "caddy"), fixtures="facts",
           hint="the proxy's Compose project in the audited tree, or `proxies:` in "
                "labwarden.yaml (npm:PATH, traefik:PATH|URL, caddy:PATH|URL; APIs with "
                "--live)"),
    Source("creds", "Default-credential checks (opt-in)",
           facts=("labwarden.sources.live.creds:CredentialCheck",), rules=("creds",),
           evidence=("credentials",), probe="labwarden.sources.live.creds",
           schemes=("https", "http", "tcp"),
           requires=(("*", "check_default_credentials"),), fixtures="facts",
           hint="`--live --check-default-credentials` against the service"),
    Source("docker", "Running containers (Docker Engine)",
           facts=(f"{_DOCKER}:Container", f"{_DOCKER}:Deployment", f"{_DOCKER}:DockerEngine"),
           rules=("docker",), evidence=("docker",), probe="labwarden.sources.live.docker",
           schemes=("docker", "local", "ssh", "snapshot"), requires=(("ssh", "ssh_key"),),
           fixtures="facts",
           hint="the host's `address:` (local://, ssh:// with --ssh-key, snapshot: with "
                "docker-inspect.json) or its `docker:` engine"),
    Source("monitoring", "Prometheus scrape targets and alert rules, Alertmanager routes",
           facts=(f"{_MON}:ServiceMonitoring", f"{_MON}:HostDiskAlerts",
                  f"{_MON}:AlertRouting"), rules=("monitoring",),
           evidence=("monitoring",), probe="labwarden.sources.live.monitoring_api",
           schemes=("prometheus", "alertmanager"), fixtures="facts",
           hint="Prometheus in the lab's Compose projects with its prometheus.yml mounted, "
                "or `monitoring: {prometheus: URL}` in labwarden.yaml and --live"),
    Source("logs", "Log shippers (Promtail, Alloy, Vector, Fluent Bit) and Loki retention",
           facts=(f"{_MON}:ServiceLogs", f"{_MON}:LogRetention"), rules=("log_shipping",),
           evidence=("logs",), fixtures="facts",
           hint="the log shipper and Loki in the lab's Compose projects, their "
                "configuration files mounted"),
    Source("proxmox", "Proxmox VE guests, firewall and backup jobs",
           facts=tuple(f"labwarden.sources.proxmox.model:{name}" for name in (
               "ProxmoxCluster", "ProxmoxGuest", "LxcContainer", "BackupJob")),
           rules=("proxmox",), evidence=("proxmox",), probe="labwarden.sources.live.proxmox",
           schemes=("ssh", "local", "snapshot", "pve"), requires=(("ssh", "ssh_key"),),
           fixtures="facts",
           hint="`proxmox: {node: NODE, vmid: ID}` on the service's host in labwarden.yaml, "
                "the node's address (snapshot:, local://, ssh:// with --ssh-key, or pve:// "
                "with LABWARDEN_PVE_TOKEN) and --live for ssh:// and pve://"),
    Source("backup", "Backup repositories (restic, Borg) and their restore tests",
           facts=("labwarden.sources.backup.fact:BackupRepository",), rules=("backups",),
           evidence=("backups",), probe="labwarden.sources.live.backup",
           schemes=("restic", "borg"), fixtures="facts",
           hint="the service's `backups:` in labwarden.yaml (restic:/path or borg:/path; "
                "remote ones with --live) and `labwarden backup verify` for restore tests"),
    Source("scans", "Image vulnerability scans (Trivy and Grype JSON reports)",
           facts=("labwarden.sources.scans.fact:ImageScan",), rules=("image_scans",),
           evidence=("scans",), fixtures="facts",
           hint="a Trivy or Grype JSON report of the service's image: `scans: {reports: "
                "[GLOB]}` in labwarden.yaml, `audit --scan-report FILE`, or `audit --scan` "
                "with trivy on PATH"),
)

AREAS: tuple[Area, ...] = (
    Area("CMP", "docker-compose", "Compose"),
    Area("SEC", "secrets", "Secrets"),
    Area("NET", "network", "Ports and firewall"),
    Area("SSH", "ssh", "SSH"),
    Area("TLS", "tls", "TLS"),
    Area("HDR", "http-headers", "HTTP headers"),
    Area("CRD", "credentials", "Default credentials"),
    Area("MON", "monitoring", "Monitoring and logging"),
    Area("BAK", "backups", "Backups"),
    Area("SCR", "scripts", "Scripts"),
    Area("PRX", "reverse-proxy", "Reverse proxy"),
    Area("PVE", "proxmox", "Proxmox"),
    Area("IMG", "container-images", "Container images"),
    Area("DKR", "docker-engine", "Running containers"),
)

RULE_ID = re.compile(rf"^({'|'.join(a.prefix for a in AREAS)})\d{{3}}$")
AREA_TAGS = {a.prefix: a.tag for a in AREAS}
# What the checklist catalogue's `automated_by` may name: a source's evidence, or nobody's.
EVIDENCE_KINDS = tuple(dict.fromkeys(k for s in SOURCES for k in s.evidence)) + ("none",)

_BY_NAME = {s.name: s for s in SOURCES}
_BY_FACT: dict[str, Source] = {}
for _source in SOURCES:
    for _fact in _source.facts:
        _BY_FACT.setdefault(_fact, _source)


def get(name: str) -> Source:
    return _BY_NAME[name]


def source_of(fact_type: type) -> Source | None:
    """The source that yields `fact_type` (the first listed, where two could)."""
    return _BY_FACT.get(f"{fact_type.__module__}:{fact_type.__qualname__}")


def rule_modules(fact_type: type | None = None) -> tuple[str, ...]:
    """The rule modules that judge `fact_type` (None: every rule module), each once."""
    chosen = SOURCES if fact_type is None else (
        (found,) if (found := source_of(fact_type)) else ())
    return tuple(dict.fromkeys(m for s in chosen for m in s.rules))


def probes_for(scheme: str, options: object) -> tuple[Source, ...]:
    """The live sources a target of `scheme` calls for, in table order."""
    return tuple(s for s in SOURCES if s.probes(scheme, options))


def _resolve(path: str) -> type:
    module, _, name = path.partition(":")
    found: type = getattr(import_module(module), name)     # the table names classes
    return found
