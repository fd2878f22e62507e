"""The `proxmox` probe: a Proxmox VE node's guests, firewall and backup jobs.

    ssh://, local://, snapshot:DIR    the files under /etc/pve through the host transport
                                      (labwarden.sources.proxmox.files)
    pve://node[:8006]                 the Proxmox API, read-only, with an API token
                                      (labwarden.sources.proxmox.api)

A host that is not a Proxmox node (no /etc/pve) yields nothing. A host that cannot be
reached yields nothing here either: the `host` probe, which runs on the same ssh://,
local:// and snapshot: targets, reports it once.
"""

from __future__ import annotations


async def probe(target, options) -> list:
    if target.scheme == "pve":
        from labwarden.sources.proxmox.api import read_api

        return await read_api(target, options)
    from labwarden.sources.live.host import transport_for
    from labwarden.sources.live.transport import HostKeyError
    from labwarden.sources.proxmox.files import read_config
    from labwarden.sources.proxmox.model import build_facts

    try:
        transport = transport_for(target, options)
    except ValueError:                   # not a snapshot (directory or tarball) it can read
        return []
    try:
        async with transport:
            config = await read_config(transport, target.raw, node_name(target, options))
    except (HostKeyError, TimeoutError, OSError):
        return []
    except Exception as exc:  # noqa: BLE001 - asyncssh's errors: the host probe reports them
        if type(exc).__module__.startswith("asyncssh"):
            return []
        raise
    return [] if config is None else build_facts(config)


def node_name(target, options=None) -> str:
    """The node as the host probe names it (what the cluster's asset is called): the
    inventory's name for it, else what the target says (a snapshot's folder or tarball)."""
    from labwarden.sources.live.host import _name

    return _name(target, options)
