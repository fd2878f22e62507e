r"""Reading a node's Proxmox files through a host transport (this machine, SSH, a snapshot).

Guests are found by listing `/etc/pve/nodes/<node>/{lxc,qemu-server}/` (every node of a
cluster: `/etc/pve/lxc` is only the local node's), firewall files by listing
`/etc/pve/firewall/`. A name that is listed but cannot be read (a user other than root:
the files are root:www-data 0640) is reported and left unknown; it is never taken for
"absent", which for these files means Proxmox's defaults (the firewall off, no job).

A machine without `/etc/pve` is not a Proxmox node: no facts, no diagnostics.

A snapshot (`snapshot:DIR`) holds copies under `DIR/files/`. Run this on the node as root,
after the host snapshot one-liner (same DIR); it copies only what is read here, never
/etc/pve/priv (keys, token secrets, storage passwords) nor the nodes' TLS keys::

    D=$PWD/host-snapshot; mkdir -p "$D/files/etc/pve"; (cd /etc/pve && for f in \
      nodes/*/lxc/*.conf nodes/*/qemu-server/*.conf nodes/*/host.fw firewall/*.fw \
      jobs.cfg vzdump.cron storage.cfg user.cfg corosync.conf; do [ -f "$f" ] || continue; \
      mkdir -p "$D/files/etc/pve/$(dirname "$f")"; cp "$f" "$D/files/etc/pve/$f"; done); \
      if [ -f /etc/vzdump.conf ]; then cp /etc/vzdump.conf "$D/files/etc/"; fi
"""

from __future__ import annotations

import asyncio
import os
import re

from labwarden.model import Diagnostic, Location
from labwarden.sources.live.transport import SnapshotTransport, Transport
from labwarden.sources.proxmox.backup import (
    StorageSpec,
    parse_jobs_cfg,
    parse_key_values,
    parse_pools,
    parse_storage_cfg,
    parse_vzdump_cron,
)
from labwarden.sources.proxmox.conf import parse_guest_config
from labwarden.sources.proxmox.fw import parse_fw
from labwarden.sources.proxmox.state import PVE, PveConfig, guest_path

_CONF = re.compile(r"^(\d+)\.conf$")
_FW = re.compile(r"^(\d+)\.fw$")
FOLDERS = (("lxc", "lxc"), ("qemu-server", "qemu"))
NOT_READ = ("there but not read (the files under /etc/pve are root's: collect as root, or "
            "with --ssh-sudo a snapshot taken as root)")


async def read_config(transport: Transport, target: str, name: str) -> PveConfig | None:
    """What the node's files say, parsed; None when the machine is not a Proxmox node."""
    top = await transport.list_dir(PVE)
    if top is None:
        return None
    config = PveConfig(target, name)
    if isinstance(transport, SnapshotTransport):
        config.root = os.path.join(transport.directory, "files")
    if "nodes" in top:
        config.nodes = await transport.list_dir(f"{PVE}/nodes") or []
    if "corosync.conf" in top:
        corosync = (await _read_all(transport, [f"{PVE}/corosync.conf"]))[0] or ""
        found = re.search(r"^\s*cluster_name\s*:\s*(\S+)", corosync, re.M)
        config.cluster_name = found.group(1) if found else None
    guests = await _guest_files(transport, top, name)
    texts = await _read_all(transport, [path for path, _, _, _ in guests])
    for (path, node, vmid, kind), text in zip(guests, texts):
        if text is None:
            config.unread_guests.append((node, vmid, kind))
            _unread(config, path, f"{'container' if kind == 'lxc' else 'VM'} {vmid}'s "
                                  "configuration")
            continue
        guest = parse_guest_config(text, vmid=vmid, kind=kind, node=node,
                                   path=config.where(path))
        _problems(config, path, guest.problems)
        config.guests.append(guest)
    await _firewall(transport, config, top)
    await _backups(transport, config, top)
    return config


async def _guest_files(transport: Transport, top: list[str],
                       name: str) -> list[tuple[str, str, int, str]]:
    """(path, node, vmid, kind) of every guest configuration file."""
    found = []
    nodes = await transport.list_dir(f"{PVE}/nodes") if "nodes" in top else None
    if nodes:
        listings = await asyncio.gather(*(transport.list_dir(f"{PVE}/nodes/{node}/{folder}")
                                          for node in nodes for folder, _ in FOLDERS))
        pairs = [(node, kind) for node in nodes for _, kind in FOLDERS]
        for (node, kind), names in zip(pairs, listings):
            for vmid in _ids(names or [], _CONF):
                found.append((guest_path(node, vmid, kind), node, vmid, kind))
        return found
    # A copy of only the local node's folders (/etc/pve/lxc is a link to them).
    for folder, kind in FOLDERS:
        if folder in top:
            for vmid in _ids(await transport.list_dir(f"{PVE}/{folder}") or [], _CONF):
                found.append((f"{PVE}/{folder}/{vmid}.conf", name, vmid, kind))
    return found


async def _firewall(transport: Transport, config: PveConfig, top: list[str]) -> None:
    if "firewall" in top:
        listed = await transport.list_dir(f"{PVE}/firewall")
        if listed is None:
            config.firewall_listed = False
            _unread(config, f"{PVE}/firewall", "the firewall folder")
            listed = []
    else:
        listed = []                              # never configured: every default applies
    vmids = sorted({g.vmid for g in config.guests} & set(_ids(listed, _FW)))
    paths = ([f"{PVE}/firewall/cluster.fw"] if "cluster.fw" in listed else []) + \
        [f"{PVE}/firewall/{vmid}.fw" for vmid in vmids]
    nodes = sorted({g.node for g in config.guests})
    node_listings = await asyncio.gather(*(transport.list_dir(f"{PVE}/nodes/{n}")
                                           for n in nodes))
    host_files = [n for n, names in zip(nodes, node_listings) if names and "host.fw" in names]
    paths += [f"{PVE}/nodes/{n}/host.fw" for n in host_files]
    texts = dict(zip(paths, await _read_all(transport, paths)))
    for path, text in texts.items():
        if text is None:
            _unread(config, path, "firewall file")
            if path.endswith("/cluster.fw"):
                config.cluster_fw_read = False
            elif path.endswith("/host.fw"):
                config.unread_host_fw.add(path.split("/")[-2])
            else:
                config.unread_fw.add(int(os.path.basename(path)[:-3]))
            continue
        parsed = parse_fw(text, config.where(path))
        _problems(config, path, parsed.problems)
        if path.endswith("/cluster.fw"):
            config.cluster_fw = parsed
        elif path.endswith("/host.fw"):
            config.host_fw[path.split("/")[-2]] = parsed
        else:
            config.guest_fw[int(os.path.basename(path)[:-3])] = parsed


async def _backups(transport: Transport, config: PveConfig, top: list[str]) -> None:
    wanted = [name for name in ("jobs.cfg", "vzdump.cron", "storage.cfg", "user.cfg")
              if name in top]
    paths = [f"{PVE}/{name}" for name in wanted] + ["/etc/vzdump.conf"]
    texts = dict(zip(paths, await _read_all(transport, paths)))
    for kind, parse in (("jobs.cfg", parse_jobs_cfg), ("vzdump.cron", parse_vzdump_cron)):
        path = f"{PVE}/{kind}"
        if path not in texts:
            continue
        text = texts[path]
        if text is None:
            config.jobs_read = False
            _unread(config, path, "backup jobs")
            continue
        jobs, problems = parse(text, path)
        _problems(config, path, problems + [p for j in jobs for p in j.problems])
        config.jobs.extend(jobs)
    storage = f"{PVE}/storage.cfg"
    if storage in texts:
        if texts[storage] is None:
            _unread(config, storage, "storage configuration")
        else:
            config.storages, problems = parse_storage_cfg(texts[storage] or "", storage)
            _problems(config, storage, problems)
    else:
        # Proxmox's built-in storage configuration when the file was never written
        config.storages = {"local": StorageSpec("local", "dir", storage, 0,
                                                content=("iso", "vztmpl", "backup"))}
    users = f"{PVE}/user.cfg"
    if users in texts:
        if texts[users] is None:
            _unread(config, users, "pools")
        else:
            config.pools = parse_pools(texts[users] or "")
    else:
        config.pools = {}
    defaults = texts["/etc/vzdump.conf"]
    config.defaults = parse_key_values(defaults) if defaults is not None else {}


async def _read_all(transport: Transport, paths: list[str]) -> list[str | None]:
    contents = await asyncio.gather(*(transport.read_file(path) for path in paths))
    return [None if data is None else data.decode("utf-8", "replace") for data in contents]


def _ids(names: list[str], pattern: re.Pattern) -> list[int]:
    return sorted(int(m.group(1)) for n in names if (m := pattern.match(n)))


def _unread(config: PveConfig, path: str, what: str) -> None:
    config.diagnostics.append(Diagnostic("error", "not-read", f"{what}: {NOT_READ}",
                                         Location(config.where(path))))


def _problems(config: PveConfig, path: str, problems: list[tuple[int, str]]) -> None:
    for line, message in problems:
        config.diagnostics.append(Diagnostic("warning", "parse-failed", message,
                                             Location(config.where(path), line)))
