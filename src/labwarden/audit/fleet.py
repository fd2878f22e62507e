"""Many hosts in one run: which of the inventory's hosts `audit --hosts` collects.

The selection reads like Ansible's `--limit`: names, group names and globs, separated by
commas or colons; `!term` leaves a term's hosts out and `&term` keeps only the hosts also
in it (`docker:!edge`, `proxmox,bastion`, `web*`). With no selection, every host.

A host is collected at its `address:` (labwarden.yaml) or the address its Ansible
variables give (`ssh://user@host:port`, `local://`); its facts carry its inventory name
(`host:pve1`), whatever the address says. A selected host with no address labwarden can
use is an error naming it: it was asked for and not checked.
"""

from __future__ import annotations

import fnmatch
import os
import re

from labwarden.errors import UsageError
from labwarden.inventory import Host, Inventory
from labwarden.model import Diagnostic, Location

_SEPARATORS = re.compile(r"[,:]")


def select_hosts(inventory: Inventory, selection: str | None) -> list[Host]:
    """The hosts `selection` names, in inventory order; a term that matches no host or
    group is a usage error (a typo must not shrink the audit silently)."""
    hosts = inventory.hosts
    groups = inventory.host_groups
    terms = [t.strip() for t in _SEPARATORS.split(selection or "all") if t.strip()]
    if not terms:
        terms = ["all"]
    chosen: set[str] = set()
    first = True
    for term in terms:
        mode = term[0] if term[0] in "!&" else ""
        word = term[1:] if mode else term
        matched = _matching(word, hosts, groups)
        if not matched:
            known = ", ".join(sorted(groups)[:20])
            hint = "; a path to audit goes before --hosts, or write --hosts=all" \
                if os.path.exists(selection or "") else ""
            raise UsageError(f"--hosts: {word!r} matches no host or group of the inventory "
                             f"(groups: {known}){hint}")
        if mode == "!":
            if first:                      # `!db` alone: every host but db's
                chosen = set(hosts)
            chosen -= matched
        elif mode == "&":
            chosen &= matched
        else:
            chosen |= matched
        first = False
    return [host for name, host in hosts.items() if name in chosen]


def _matching(word: str, hosts: dict[str, Host], groups: dict[str, set[str]]) -> set[str]:
    if word in groups:
        return set(groups[word])
    if word in hosts:
        return {word}
    found: set[str] = set()
    if any(c in word for c in "*?["):
        for group in fnmatch.filter(groups, word):
            found |= groups[group]
        found.update(fnmatch.filter(hosts, word))
    return found


def host_targets(hosts: list[Host]) -> tuple[list[str], dict[str, str], list[Diagnostic]]:
    """The targets to probe for `hosts` (each address once), the inventory name of each
    target, and an error for each host that has no address to probe."""
    texts: list[str] = []
    names: dict[str, str] = {}
    problems: list[Diagnostic] = []
    for host in hosts:
        if not host.address:
            why = host.note or "it has no `address:`"
            problems.append(Diagnostic(
                "error", "no-address", f"host {host.name} not collected: {why}",
                host.location or Location("labwarden.yaml")))
            continue
        if host.address not in names:
            texts.append(host.address)
            names[host.address] = host.name
    return texts, names, problems


def inventory_names(inventory: Inventory) -> dict[str, str]:
    """Each inventory host's address → its name (the first host, where two share one)."""
    names: dict[str, str] = {}
    for host in inventory.hosts.values():
        if host.address:
            names.setdefault(host.address, host.name)
    return names


def network_only(texts: list[str], have_key: bool) -> list[Diagnostic]:
    """A warning when hosts reached over SSH will be probed from the network only: without
    a key, no `sshd -T`, sockets or firewall (an easy thing to miss in a long report)."""
    over_ssh = [t for t in texts if t.startswith("ssh://")]
    if have_key or not over_ssh:
        return []
    return [Diagnostic("warning", "network-only", f"{len(over_ssh)} host(s) over ssh:// are "
                       "probed from the network only (their SSH server); --ssh-key KEY also "
                       "collects sshd -T, listening sockets and the firewall",
                       Location(over_ssh[0]))]
