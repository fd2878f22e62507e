"""The service inventory in labwarden.yaml: the seed's Service Information for each service,
and what the audit needs to find its evidence (Compose project, host, URLs, exposure).

    services:
      grafana:
        deployment_type: docker        # vm | lxc | docker | bare_metal
        deployment_date: 2026-11-20
        owner: jdoe
        purpose: Dashboards for the lab
        criticality: medium            # critical | high | medium | low
        data_classification: internal  # public | internal | confidential | restricted
        compose: monitoring            # a project directory or file, relative to this file
        compose_services: [grafana]    # default: every service of the project
        host: docker-01                # a name under hosts:
        groups: [monitoring]           # attestations for a group answer its services too
        urls: [https://grafana.lab.example]
        exposure: internal             # internal | internet
        source: third_party            # third_party (default) | own: you develop it
        backups: ["restic:/srv/backup/grafana"]   # restic or Borg repositories (and how to
                                                  # open them: sources/backup/config.py)
        stateful_volumes: [grafana-data]          # state besides database images
    hosts:
      docker-01: {address: "ssh://admin@10.0.0.5", deployment_type: vm, groups: [docker],
                  proxmox: {node: pve1, vmid: 101}}   # a Proxmox guest: its node and vmid
      pve1: {address: "ssh://root@10.0.0.2"}
      nas: {docker: "docker+unix:///run/docker.sock"}   # its Docker Engine's API, when
                                     # not read through `address:` (docker+tcp://, docker:)
    ansible_inventory: inventory/hosts.yml   # more hosts, with their groups (see below)

Hosts come from `hosts:` and from the Ansible inventory `ansible_inventory:` names (a file, a
directory or a list of them; `{path: …, use_ansible: true}` runs `ansible-inventory` for
dynamic inventories): `labwarden.ansible_inventory` reads it. A host in both keeps the
`hosts:` address and deployment type and gets the groups of both. Host groups answer
waivers (`scope: {host_group: docker}`) and, through `hosts_in_group`, attestation scopes.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field

from labwarden.config import Config, ConfigError, name_problem
from labwarden.model import Location
from labwarden.sources.yamlfile import Map, Seq

DEPLOYMENT_TYPES = ("vm", "lxc", "docker", "bare_metal")
CRITICALITIES = ("critical", "high", "medium", "low")
CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")
EXPOSURES = ("internal", "internet")
# Whether the operator develops the software (own) or runs someone else's (third_party):
# items about an application's own code (input validation, SQL injection, API auth
# design…) apply only to software you develop.
SOURCES = ("third_party", "own")


@dataclass
class ProxmoxGuest:
    """Where a host runs as a Proxmox VE guest: the node (a host of the inventory, whose
    address reads the cluster) and the guest's ID there."""

    node: str
    vmid: int
    address: str | None        # the node's address


@dataclass
class Host:
    name: str
    address: str | None
    deployment_type: str | None
    docker: str | None = None            # its Docker Engine's API (docker+unix://, docker:…)
    proxmox: ProxmoxGuest | None = None
    groups: tuple[str, ...] = ()          # its host groups, Ansible's parents included
    location: Location | None = None      # where labwarden.yaml or the inventory names it
    note: str | None = None               # why it has no address (an Ansible winrm host…)
    lan_address: str | None = None        # where its ports bind on the LAN (`lan_address:`)


@dataclass
class InventoryService:
    name: str
    location: Location
    deployment_type: str = "docker"
    deployment_date: str = ""
    owner: str = ""
    purpose: str = ""
    criticality: str = ""
    data_classification: str = ""
    compose: str | None = None           # absolute path of the project directory or file
    compose_services: tuple[str, ...] = ()
    host: Host | None = None
    urls: tuple[str, ...] = ()
    exposure: str = "internal"
    source: str = "third_party"
    groups: tuple[str, ...] = ()         # named sets of services an attestation may answer
    # `monitoring: {job, instance}`: how the lab's Prometheus names the service.
    monitoring_jobs: tuple[str, ...] = ()
    monitoring_instances: tuple[str, ...] = ()
    backups: tuple[str, ...] = ()        # repositories as written: restic:/srv/backup/app
    # Targets whose facts may be about any service of the lab (`proxies:` in labwarden.yaml:
    # the reverse proxy's database, configuration or API); each fact says whose it is.
    lab_targets: tuple[str, ...] = ()

    @property
    def compose_dir(self) -> str | None:
        if self.compose is None:
            return None
        return self.compose if os.path.isdir(self.compose) else os.path.dirname(self.compose)


@dataclass
class Inventory:
    base_dir: str
    services: dict[str, InventoryService] = field(default_factory=dict)
    hosts: dict[str, Host] = field(default_factory=dict)
    proxies: tuple[str, ...] = ()            # targets naming the reverse proxy's configuration
    records_dir: str = "docs/deployment-records"
    attestations_path: str = "attestations.yaml"
    history_path: str = ".labwarden/history.db"
    # `monitoring: {prometheus, alertmanager}`: their APIs as probe targets (--live).
    monitoring_targets: tuple[str, ...] = ()

    def service(self, name: str) -> InventoryService:
        """The service named on the command line (a name that breaks the naming rule is
        refused as such: it could not have been defined)."""
        problem = name_problem(name)
        if problem:
            raise ConfigError(problem)
        if name not in self.services:
            known = ", ".join(sorted(self.services)) or "none (run `labwarden init`)"
            raise ConfigError(f"no service {name!r} in the inventory; known: {known}")
        return self.services[name]

    @property
    def groups(self) -> dict[str, list[InventoryService]]:
        """Every group some service declares (`groups:`), with its services in inventory
        order: a group exists only through its members."""
        found: dict[str, list[InventoryService]] = {}
        for service in self.services.values():
            for group in service.groups:
                found.setdefault(group, []).append(service)
        return found

    @property
    def host_groups(self) -> dict[str, set[str]]:
        """Every host group (`hosts:` `groups:` and the Ansible inventory's), with the names
        of its hosts; `all` holds every host, as in Ansible."""
        return groups_of(self.hosts)


def groups_of(hosts: dict[str, Host]) -> dict[str, set[str]]:
    """Each host group with the names of its hosts; `all` holds every host."""
    found: dict[str, set[str]] = {"all": set(hosts)}
    for host in hosts.values():
        for group in host.groups:
            found.setdefault(group, set()).add(host.name)
    return found


def hosts_in_group(inventory: Inventory, name: str) -> set[str]:
    """The names of the hosts in the host group `name` (empty when no host is in it): for
    the scopes of waivers and attestations."""
    return set(inventory.host_groups.get(name, ()))


def load_inventory(config: Config) -> Inventory:
    """The inventory of a configuration that `load_config` checked against its SCHEMA (keys,
    types and names): what is left to check here is what the values mean."""
    base = os.path.dirname(os.path.abspath(config.path)) if config.path else os.getcwd()
    raw = config.raw
    inventory = Inventory(base_dir=base)
    for key, attr in (("records_dir", "records_dir"), ("attestations", "attestations_path"),
                      ("history", "history_path")):
        if raw.get(key):
            setattr(inventory, attr, str(raw[key]))
    for attr in ("records_dir", "attestations_path", "history_path"):
        setattr(inventory, attr, os.path.join(base, getattr(inventory, attr)))
    inventory.proxies = tuple(_proxy_target(str(t), base, raw.loc_of("proxies"))
                              for t in _list(raw, "proxies"))
    inventory.hosts = load_hosts(config)
    hosts = raw.get("hosts") or Map()
    for name, spec in hosts.items():
        if spec.get("proxmox") is not None:
            inventory.hosts[name].proxmox = _guest_of(inventory, name, spec["proxmox"],
                                                      spec.loc_of("proxmox"))
    watch = raw.get("monitoring") or Map()
    inventory.monitoring_targets = tuple(
        monitoring_target(kind, str(url)) for kind in ("prometheus", "alertmanager")
        for url in _list(watch, kind))
    services = raw.get("services") or Map()
    for name, spec in services.items():
        inventory.services[name] = _service(inventory, name, spec, services.loc_of(name))
    return inventory


def load_hosts(config: Config) -> dict[str, Host]:
    """The hosts of `hosts:` and of the Ansible inventory, by name (`hosts:` first)."""
    base = os.path.dirname(os.path.abspath(config.path)) if config.path else os.getcwd()
    raw = config.raw
    found: dict[str, Host] = {}
    hosts = raw.get("hosts") or Map()
    for name, spec in hosts.items():
        kind = spec.get("deployment_type")
        kind = _choice(kind, DEPLOYMENT_TYPES, "deployment_type",
                       spec.loc_of("deployment_type"), optional=True)
        groups = spec.get("groups")
        for index, group in enumerate(_list(spec, "groups")):
            problem = name_problem(group, "group")
            if problem:
                raise ConfigError(problem, groups.loc_of(index) if isinstance(groups, Seq)
                                  else spec.loc_of("groups"))
        found[name] = Host(name, _address(spec.get("address"), base), kind,
                           docker=_docker_address(spec),
                           groups=tuple(dict.fromkeys(str(g) for g in _list(spec, "groups"))),
                           location=hosts.loc_of(name),
                           lan_address=_lan_address(spec))
    setting = raw.get("ansible_inventory")
    if setting is not None:
        _add_ansible_hosts(found, setting, raw.loc_of("ansible_inventory"), base)
    return found


def _add_ansible_hosts(found: dict[str, Host], setting, where: Location | None,
                       base: str) -> None:
    """The Ansible inventory's hosts, added to `found`: a host `hosts:` also names keeps its
    address (when it has one) and gains the inventory's groups."""
    from labwarden import ansible_inventory

    use_ansible = False
    if isinstance(setting, Map):     # SCHEMA: {path: text or texts, use_ansible: flag}
        use_ansible = setting.get("use_ansible") is True
        where = setting.loc_of("path") or where
        setting = setting.get("path")
        if setting is None:
            raise ConfigError("ansible_inventory needs a `path:`", where)
    paths = [os.path.join(base, str(p)) for p in (setting if isinstance(setting, Seq)
                                                   else [setting])]
    loaded = ansible_inventory.load(paths, use_ansible=use_ansible, cwd=base, where=where)
    for name, entry in loaded.hosts.items():
        problem = name_problem(name, "host")
        if problem:
            raise ConfigError(f"{problem} (give it an alias in the Ansible inventory)",
                              entry.location)
        mine = found.get(name)
        if mine is None:
            found[name] = Host(name, entry.address, None, groups=entry.groups,
                               location=entry.location, note=entry.note)
            continue
        mine.groups = tuple(dict.fromkeys(mine.groups + entry.groups))
        if mine.address is None:
            mine.address, mine.note = entry.address, entry.note


def _service(inventory: Inventory, name: str, spec: Map, loc: Location) -> InventoryService:
    service = InventoryService(name=name, location=loc)
    for key in ("owner", "purpose"):
        if spec.get(key) is not None:
            setattr(service, key, str(spec[key]))
    date = spec.get("deployment_date")
    if date is not None:
        try:
            service.deployment_date = dt.date.fromisoformat(str(date)).isoformat()
        except ValueError:
            raise ConfigError(f"deployment_date must be YYYY-MM-DD, not {date!r}",
                              spec.loc_of("deployment_date")) from None
    for key, choices in (("deployment_type", DEPLOYMENT_TYPES), ("criticality", CRITICALITIES),
                         ("data_classification", CLASSIFICATIONS), ("exposure", EXPOSURES),
                         ("source", SOURCES)):
        value = spec.get(key)
        if value is not None:
            setattr(service, key, _choice(value, choices, key, spec.loc_of(key)))
    if spec.get("compose") is not None:
        path = os.path.join(inventory.base_dir, str(spec["compose"]))
        if not os.path.exists(path):
            raise ConfigError(f"compose path {spec['compose']!r} does not exist",
                              spec.loc_of("compose"))
        service.compose = os.path.normpath(path)
    service.compose_services = tuple(str(s) for s in _list(spec, "compose_services"))
    service.lab_targets = inventory.proxies
    service.urls = tuple(str(u) for u in _list(spec, "urls"))
    groups = spec.get("groups")
    for index, group in enumerate(_list(spec, "groups")):
        problem = name_problem(group, "group")
        if problem:
            raise ConfigError(problem, groups.loc_of(index) if isinstance(groups, Seq)
                              else spec.loc_of("groups"))
    service.groups = tuple(dict.fromkeys(str(g) for g in _list(spec, "groups")))
    hint = spec.get("monitoring") or Map()
    service.monitoring_jobs = tuple(str(j) for j in _list(hint, "job"))
    service.monitoring_instances = tuple(str(i) for i in _list(hint, "instance"))
    if spec.get("backups") is not None:   # checked when labwarden.yaml was loaded
        from labwarden.sources.backup.config import repositories_of

        service.backups = repositories_of(spec)
    host = spec.get("host")
    if host is not None:
        if str(host) not in inventory.hosts:
            raise ConfigError(f"host {host!r} is not defined under `hosts:`", spec.loc_of("host"))
        service.host = inventory.hosts[str(host)]
    return service


def _guest_of(inventory: Inventory, name: str, spec: Map, loc: Location) -> ProxmoxGuest:
    node, vmid = spec.get("node"), spec.get("vmid")
    if node is None or vmid is None:
        raise ConfigError(f"hosts.{name}.proxmox needs `node` (a host under `hosts:`) and "
                          "`vmid`", loc)
    if str(node) not in inventory.hosts or str(node) == name:
        raise ConfigError(f"hosts.{name}.proxmox.node: {node!r} is not another host under "
                          "`hosts:`", spec.loc_of("node"))
    if not 100 <= int(vmid) <= 999_999_999:
        raise ConfigError(f"hosts.{name}.proxmox.vmid: Proxmox guest IDs are 100 to "
                          f"999999999, not {vmid}", spec.loc_of("vmid"))
    return ProxmoxGuest(str(node), int(vmid), inventory.hosts[str(node)].address)


def _lan_address(spec: Map) -> str | None:
    value = spec.get("lan_address")
    if value is None:
        return None
    import ipaddress

    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        raise ConfigError(f"lan_address must be an IP address, not {str(value)!r}",
                          spec.loc_of("lan_address")) from None


def _docker_address(spec: Map) -> str | None:
    """A host's `docker:` engine address, checked as a target is (`docker+unix:///…`,
    `docker+tcp://host:port`, `docker:` for DOCKER_HOST)."""
    value = spec.get("docker")
    if value is None:
        return None
    text = str(value)
    if not text.startswith(("docker:", "docker+")):
        raise ConfigError(f"docker must be a Docker Engine address (docker+unix:///run/"
                          f"docker.sock, docker+tcp://host:port), not {text!r}",
                          spec.loc_of("docker"))
    from labwarden.sources.docker.address import engine_tls, engine_url

    try:
        engine_url(text, environ={})
        engine_tls(text, environ={})                 # `?tls=` spelt right
    except ValueError as exc:
        raise ConfigError(str(exc), spec.loc_of("docker")) from None
    return text


def monitoring_target(kind: str, url: str) -> str:
    """An API named under `monitoring:` as a probe target: `http://127.0.0.1:9090` under
    `prometheus:` is `prometheus+http://127.0.0.1:9090`."""
    return f"{kind}+{url}" if url.startswith(("http://", "https://")) else url


def _address(value, base: str) -> str | None:
    """A host's address; a relative `snapshot:` directory is relative to labwarden.yaml, so
    the inventory means the same from wherever a command runs."""
    if value is None:
        return None
    text = str(value)
    if text.startswith("snapshot:") and not os.path.isabs(text[len("snapshot:"):]):
        return "snapshot:" + os.path.normpath(os.path.join(base, text[len("snapshot:"):]))
    return text


def _proxy_target(text: str, base: str, loc: Location | None) -> str:
    """A `proxies:` target; a relative path (`npm:proxy/data/database.sqlite`) is relative to
    labwarden.yaml, like a `snapshot:` address. An API URL is kept as written."""
    from labwarden.sources.live.targets import PROXY_SCHEMES

    scheme, _, rest = text.partition(":")
    if scheme not in PROXY_SCHEMES or not rest:
        raise ConfigError(f"proxies: {text!r} is not a proxy target (npm:PATH, traefik:PATH "
                          "or URL, caddy:PATH or URL)", loc)
    if rest.startswith(("http://", "https://")) or os.path.isabs(rest):
        return text
    return f"{scheme}:" + os.path.normpath(os.path.join(base, rest))


def _list(spec: Map, key: str) -> list:
    value = spec.get(key)
    if value is None:
        return []
    if isinstance(value, Seq):
        return list(value)
    return [value]


def _choice(value, choices: tuple[str, ...], key: str, loc: Location, optional=False) -> str:
    if value is None and optional:
        return None
    text = str(value).strip().lower().replace(" ", "_").replace("-", "_")
    if text == "baremetal":
        text = "bare_metal"
    if text not in choices:
        raise ConfigError(f"{key} must be one of {', '.join(choices)}, not {value!r}", loc)
    return text
