"""Fixtures: a node's files written in YAML, read by the real collector through an
in-memory transport (`model.facts_from_yaml` documents the format and makes the facts)."""

from __future__ import annotations

import asyncio
import posixpath

import yaml

from labwarden.sources._read import read_regular
from labwarden.sources.live.transport import Transport
from labwarden.sources.proxmox.files import read_config
from labwarden.sources.proxmox.state import PveConfig
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


def configs_from_items(path: str) -> list[tuple[dict, PveConfig]]:
    """Each item of a fixture file, and what the collector reads from its files."""
    items = yaml.safe_load(read_regular(path, MAX_FIXTURE).decode("utf-8")) or []
    target = f"snapshot:{posixpath.basename(path)}"
    return [(item, config_of(item, target)) for item in items]


def config_of(item: dict, target: str = "snapshot:fixture") -> PveConfig:
    files: dict[str, str | None] = {str(k): str(v) for k, v in
                                    (item.get("files") or {}).items() if v is not None}
    for unread in item.get("unread") or []:
        files[str(unread)] = None
    config = asyncio.run(read_config(MemoryTransport(files), target,
                                     str(item.get("name", "pve1"))))
    if config is None:
        raise ValueError("a fixture item without any file under /etc/pve")
    return config
