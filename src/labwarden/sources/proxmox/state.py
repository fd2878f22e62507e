"""What was read from one Proxmox node (its files or its API), parsed, before any fact is
made: the collectors (`files`, `api`) fill it, `model.build_facts` turns it into facts."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from labwarden.model import Diagnostic
from labwarden.sources.proxmox.backup import JobSpec, StorageSpec
from labwarden.sources.proxmox.conf import Entry, GuestConfig
from labwarden.sources.proxmox.fw import FwConfig

PVE = "/etc/pve"


def guest_path(node: str, vmid: int, kind: str) -> str:
    folder = "lxc" if kind == "lxc" else "qemu-server"
    return f"{PVE}/nodes/{node}/{folder}/{vmid}.conf"


@dataclass(slots=True)
class PveConfig:
    """Everything read from one node, parsed. For each file: absent (Proxmox's default
    applies), read, or there but not read (unknown: the `*_unread` sets and None)."""

    target: str
    name: str                                    # the node as the target names it
    cluster_name: str | None = None              # corosync's cluster_name (a cluster)
    nodes: list[str] = field(default_factory=list)   # the nodes /etc/pve knows
    guests: list[GuestConfig] = field(default_factory=list)
    unread_guests: list[tuple[str, int, str]] = field(default_factory=list)  # node, vmid, kind
    cluster_fw: FwConfig | None = None
    cluster_fw_read: bool = True                 # False: cluster.fw there but not read
    guest_fw: dict[int, FwConfig] = field(default_factory=dict)
    unread_fw: set[int] = field(default_factory=set)
    firewall_listed: bool = True                 # False: /etc/pve/firewall could not be listed
    host_fw: dict[str, FwConfig] = field(default_factory=dict)
    unread_host_fw: set[str] = field(default_factory=set)
    jobs: list[JobSpec] = field(default_factory=list)
    jobs_read: bool = True                       # False: a job file there but not read
    storages: dict[str, StorageSpec] | None = None   # None: storage.cfg not read
    pools: dict[str, set[int]] | None = None          # None: user.cfg not read
    defaults: dict[str, Entry] | None = None          # /etc/vzdump.conf; None: not read
    # Where the files were read: "" for the node itself, a snapshot's `files/` folder
    root: str = ""
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def label(self) -> str:
        """What the cluster's assets are named after, the same whether it was read from a
        snapshot, over SSH or from the API: the cluster's name, a standalone node's name,
        else the target's."""
        if self.cluster_name:
            return self.cluster_name
        return self.nodes[0] if len(self.nodes) == 1 else self.name

    def where(self, path: str) -> str:
        """The file a finding points at: in the snapshot, so that it opens in an editor."""
        return os.path.join(self.root, path.lstrip("/")) if self.root else path
