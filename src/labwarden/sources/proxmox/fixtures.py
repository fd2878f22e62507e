"""Fixtures: a node's files written in YAML, read by the real collector through an
in-memory transport (`model.facts_from_yaml` documents the format)."""

from __future__ import annotations

import asyncio
import posixpath

import yaml

from labwarden.sources._read import read_regular
from labwarden.sources.live.transport import Transport
from labwarden.sources.proxmox.files import read_config
from labwarden.sources.proxmox.model import (
    BackupJob,
    LxcContainer,
    ProxmoxCluster,
    ProxmoxGuest,
    build_facts,
)

KINDS = {"cluster": ProxmoxCluster, "guest": ProxmoxGuest, "container": LxcContainer,
         "job": BackupJob}
MAX_FIXTURE = 4 << 20


class MemoryTransport(Transport):
    """Files held in memory: path → text, or None for a file that is there but unreadable;
    directories are the paths' parents."""

    name = "memory"

    def __init__(self, files: dict[str, str | None]):
        self.files = {posixpath.normpath(path): text for path, text in files.items()}

    async def read_file(self, path: str) -> bytes | None:
        text = self.files.get(posixpath.normpath(path))
        return None if text is None else text.encode()

    async def list_dir(self, path: str) -> list[str] | None:
        prefix = posixpath.normpath(path).rstrip("/") + "/"
        names = {p[len(prefix):].split("/")[0] for p in self.files if p.startswith(prefix)}
        return sorted(names) if names else None


def facts_from_items(path: str) -> list:
    items = yaml.safe_load(read_regular(path, MAX_FIXTURE).decode("utf-8")) or []
    return [fact_from_item(item, f"snapshot:{posixpath.basename(path)}") for item in items]


def fact_from_item(item: dict, target: str = "snapshot:fixture"):
    files: dict[str, str | None] = {str(k): str(v) for k, v in
                                    (item.get("files") or {}).items() if v is not None}
    for unread in item.get("unread") or []:
        files[str(unread)] = None
    node = str(item.get("name", "pve1"))
    config = asyncio.run(read_config(MemoryTransport(files), target, node))
    if config is None:
        raise ValueError("a fixture item without any file under /etc/pve")
    facts = build_facts(config)
    kind = KINDS[str(item.get("kind", "cluster"))]
    chosen = [f for f in facts if isinstance(f, kind)]
    if kind in (ProxmoxGuest, LxcContainer) and item.get("vmid") is not None:
        chosen = [f for f in chosen if getattr(f, "vmid", None) == int(item["vmid"])]
    if kind is BackupJob and item.get("job") is not None:
        chosen = [f for f in chosen if getattr(f, "id", None) == str(item["job"])]
    if not chosen:
        raise ValueError(f"no {kind.__name__} in the fixture item")
    return chosen[0]
