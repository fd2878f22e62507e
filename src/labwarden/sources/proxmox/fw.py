"""Proxmox VE firewall files, as pve-firewall(8) describes them: pure functions over text.

    /etc/pve/firewall/cluster.fw        the datacenter: [OPTIONS] enable (default 0: the
                                        whole firewall is off), policy_in/policy_out,
                                        [RULES], [IPSET name], [GROUP name], [ALIASES]
    /etc/pve/nodes/<node>/host.fw       one node: [OPTIONS] enable (default 1), [RULES]
    /etc/pve/firewall/<vmid>.fw         one guest: [OPTIONS] enable (default 0), policy_in
                                        (default DROP), policy_out (default ACCEPT), [RULES],
                                        [IPSET name], [ALIASES]

A guest's rules apply only when the datacenter firewall is on, the guest's `enable` is 1,
and its network device says `firewall=1`. Rules read `DIRECTION ACTION [OPTIONS]`, a
macro as `SSH(ACCEPT)`, a security group as `GROUP name`; a leading `|` disables one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from labwarden.sources.proxmox.conf import Entry

_HEADER = re.compile(r"^\[(\w+)(?:\s+([A-Za-z0-9_.\-]+))?\]\s*(?:#.*)?$")
_OPTION = re.compile(r"^([a-z][a-z0-9_\-]*)\s*:\s*(\S*)\s*(?:#.*)?$")
POLICIES = ("ACCEPT", "DROP", "REJECT")


@dataclass(frozen=True, slots=True)
class FwRule:
    direction: str        # IN | OUT | GROUP
    action: str           # ACCEPT, DROP, REJECT, a macro `SSH(ACCEPT)`, or the group's name
    options: str          # the rest: `-i net0 -source +management -p tcp -dport 22`
    enabled: bool
    line: int


@dataclass(slots=True)
class FwConfig:
    path: str
    options: dict[str, Entry] = field(default_factory=dict)
    rules: list[FwRule] = field(default_factory=list)
    ipsets: dict[str, list[str]] = field(default_factory=dict)
    groups: dict[str, list[FwRule]] = field(default_factory=dict)
    problems: list[tuple[int, str]] = field(default_factory=list)

    def option(self, key: str) -> Entry | None:
        return self.options.get(key)


def parse_fw(text: str, path: str) -> FwConfig:
    """Every section of a firewall file, each option and rule with its line."""
    config = FwConfig(path)
    section, name = "", ""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        header = _HEADER.match(stripped)
        if header:
            section, name = header.group(1).upper(), header.group(2) or ""
            if section == "IPSET":
                config.ipsets.setdefault(name, [])
            elif section == "GROUP":
                config.groups.setdefault(name, [])
            elif section not in ("OPTIONS", "RULES", "ALIASES"):
                config.problems.append((number, f"unknown section [{header.group(1)}]"))
            continue
        body = stripped.split("#", 1)[0].strip()
        if section == "OPTIONS":
            option = _OPTION.match(stripped)
            if option:
                config.options[option.group(1)] = Entry(option.group(1), option.group(2),
                                                        number)
            else:
                config.problems.append((number, "not a `key: value` option"))
        elif section in ("RULES", "GROUP"):
            rule = _rule(body, number)
            if rule is None:
                config.problems.append((number, "not a firewall rule"))
            elif section == "RULES":
                config.rules.append(rule)
            else:
                config.groups[name].append(rule)
        elif section == "IPSET":
            config.ipsets[name].append(body.split()[0])
        elif section == "ALIASES":
            continue
        else:
            config.problems.append((number, "a line outside any section"))
    return config


def options_from_mapping(values: dict, path: str) -> FwConfig:
    """The [OPTIONS] of a firewall from the API's `GET …/firewall/options` answer."""
    config = FwConfig(path)
    for key, value in values.items():
        if key != "digest" and not isinstance(value, (dict, list)):
            config.options[str(key)] = Entry(str(key), str(value), 0)
    return config


def _rule(body: str, line: int) -> FwRule | None:
    enabled = not body.startswith("|")
    words = body.lstrip("|").split(None, 2)
    if len(words) < 2 or words[0].upper() not in ("IN", "OUT", "GROUP"):
        return None
    return FwRule(words[0].upper(), words[1], words[2] if len(words) > 2 else "", enabled,
                  line)
