"""Waivers scoped to a host group (`scope: {host_group: docker}`): the group's hosts come
from the inventory (`hosts:` with `groups:`, and the Ansible inventory), which is read only
when such a waiver exists.

A finding is on a host of the group when its asset names the host the way labwarden calls
it: by its inventory name (`host:pve1`, `sshd:pve1`), or by the address it was probed at
(`ssh:10.0.0.10:22`, `tls:pve1.lab:8006`), or a snapshot's name.
"""

from __future__ import annotations

from labwarden.config import Config, ConfigError
from labwarden.inventory import Host, groups_of, load_hosts


def resolve_waivers(config: Config) -> None:
    """Give each host-group waiver the names of its group's hosts; a group the inventory
    does not have is an error at the waiver (a typo would otherwise waive nothing)."""
    hosts = load_hosts(config)
    groups = groups_of(hosts)
    for waiver in config.waivers:
        if waiver.host_group is None or waiver.group_hosts is not None:
            continue
        members = groups.get(waiver.host_group)
        if members is None:
            import difflib

            close = difflib.get_close_matches(waiver.host_group, list(groups), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else \
                f" (known: {', '.join(sorted(groups))})"
            raise ConfigError(f"waiver scope host_group {waiver.host_group!r} is not a group "
                              f"of the inventory's hosts{hint}", waiver.location)
        waiver.group_hosts = frozenset(name for host in members
                                       for name in host_identities(hosts[host]))


def host_identities(host: Host) -> set[str]:
    """What a host is called in assets: its inventory name and the host of its address."""
    from labwarden.sources.live.targets import TargetError, parse_target

    names = {host.name}
    if not host.address:
        return names
    try:
        target = parse_target(host.address)
    except TargetError:
        return names
    if target.scheme == "snapshot":
        from labwarden.sources.live.transport import snapshot_name

        names.add(snapshot_name(target.path))
    elif target.scheme == "local":
        names.add("local")
    elif target.host:
        names.add(target.host)
    return names

