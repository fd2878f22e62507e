"""Guest configurations, as pct.conf(5) and qm.conf(5) describe them: pure functions over
text (or over the API's answer, which holds the same keys and values).

    /etc/pve/nodes/<node>/lxc/<vmid>.conf          a container
    /etc/pve/nodes/<node>/qemu-server/<vmid>.conf  a virtual machine

A file is the current configuration, then one section per snapshot (`[before-upgrade]`),
and the changes not applied yet (`[PENDING]`, `[pve:pending]`), and cloud-init's
(`[special:cloudinit]`). Only the part before the first section is what runs: a snapshot
that was privileged does not make the container privileged now. `#` lines are the guest's
description. `lxc.*` keys are raw LXC settings, may repeat, and take `:` or `=`.

Values are property strings: `local-lvm:vm-101-disk-0,size=8G` (the first part is the
value of the key's default property, here `volume`), `name=eth0,bridge=vmbr0,firewall=1`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_SECTION = re.compile(r"^\[([^\]]+)\]\s*$")
_RAW_LXC = re.compile(r"^(lxc\.[A-Za-z0-9_.\-]+)\s*(?::|=)\s*(.*?)\s*$")
_KEY = re.compile(r"^([a-z][a-z_\-]*\d*)\s*:\s*(.*?)\s*$")
_INDEXED = re.compile(r"^([a-z]+)(\d+)$")
TRUE = frozenset({"1", "yes", "on", "true"})
FALSE = frozenset({"0", "no", "off", "false"})


@dataclass(frozen=True, slots=True)
class Entry:
    key: str
    value: str
    line: int            # 1-based line in the file; 0 when read from the API


@dataclass(slots=True)
class GuestConfig:
    vmid: int
    kind: str            # "lxc" (container) | "qemu" (virtual machine)
    node: str            # the node whose directory holds it
    path: str            # where it was read: the file, or the API path
    entries: list[Entry] = field(default_factory=list)   # the current configuration only
    sections: list[str] = field(default_factory=list)    # snapshots, pending: not judged
    problems: list[tuple[int, str]] = field(default_factory=list)   # (line, what)

    def get(self, key: str) -> Entry | None:
        for entry in self.entries:
            if entry.key == key:
                return entry
        return None

    def value(self, key: str) -> str | None:
        entry = self.get(key)
        return None if entry is None else entry.value

    def flag(self, key: str, default: bool) -> bool:
        """A boolean option; `default` when it is absent (the documented default)."""
        value = self.value(key)
        parsed = boolean(value) if value is not None else None
        return default if parsed is None else parsed

    def indexed(self, name: str) -> list[Entry]:
        """`name0`, `name1`… (`mp`, `dev`, `net`, `hostpci`, `usb`) in file order."""
        found = []
        for entry in self.entries:
            match = _INDEXED.match(entry.key)
            if match and match.group(1) == name:
                found.append(entry)
        return found

    def raw(self, prefix: str = "lxc.") -> list[Entry]:
        return [e for e in self.entries if e.key.startswith(prefix)]


def boolean(value: str | int | bool | None) -> bool | None:
    """A Proxmox boolean (1/0, yes/no, on/off, true/false); None when it is none of them."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    return None


def parse_guest_config(text: str, *, vmid: int, kind: str, node: str,
                       path: str) -> GuestConfig:
    """The current configuration of a guest, with the line of every key. Lines Proxmox
    would not read are listed in `problems`; a key written twice keeps its first value (as
    Proxmox refuses the second) and is listed too."""
    config = GuestConfig(vmid, kind, node, path)
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue                       # blank, or the description
        section = _SECTION.match(stripped)
        if section:
            config.sections.append(section.group(1))
            continue
        if config.sections:
            continue                       # a snapshot or pending changes: not what runs
        raw = _RAW_LXC.match(stripped)
        if raw:
            config.entries.append(Entry(raw.group(1), raw.group(2), number))
            continue
        match = _KEY.match(stripped)
        if not match:
            config.problems.append((number, "not a `key: value` line"))
            continue
        key, value = match.group(1), match.group(2)
        if key in seen:
            config.problems.append((number, f"`{key}` set twice: the first value counts"))
            continue
        seen.add(key)
        config.entries.append(Entry(key, value, number))
    return config


def config_from_mapping(values: dict, *, vmid: int, kind: str, node: str,
                        path: str) -> GuestConfig:
    """The same, from the API's `GET …/config` answer (a key → value mapping; `digest` is
    the API's own). Raw `lxc` settings come as a list of [key, value] pairs."""
    config = GuestConfig(vmid, kind, node, path)
    for key, value in values.items():
        if key == "digest":
            continue
        if key == "lxc" and isinstance(value, list):
            for pair in value:
                if isinstance(pair, (list, tuple)) and len(pair) == 2:
                    config.entries.append(Entry(str(pair[0]), str(pair[1]), 0))
            continue
        if isinstance(value, (dict, list)):
            continue                       # no option of a guest is a structure
        config.entries.append(Entry(str(key), str(value), 0))
    return config


def property_string(value: str, default_key: str | None = None) -> dict[str, str]:
    """`local-lvm:vm-101-disk-0,size=8G` → {volume: …, size: 8G} with default_key="volume".
    A part without `=` is the default property's value (only the first such part)."""
    found: dict[str, str] = {}
    for part in _split(value):
        key, sep, text = part.partition("=")
        if sep:
            found[key.strip()] = _unquote(text.strip())
        elif default_key and default_key not in found:
            found[default_key] = _unquote(part.strip())
        elif part.strip():
            found[part.strip()] = ""
    return found


def _split(value: str) -> list[str]:
    """Split on commas outside double quotes (newer Proxmox quotes values with commas)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in value:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text
