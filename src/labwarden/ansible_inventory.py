"""Hosts and groups from an Ansible inventory, for the hosts labwarden collects.

An operator who runs Ansible already lists the lab's machines, how to reach them and how
they group. labwarden reads the same files rather than asking for a second list:

- the YAML and INI inventory formats, a directory of them, and the JSON that
  `ansible-inventory --list` (or an inventory script) prints;
- `group_vars/` and `host_vars/` beside them (files or directories of YAML/JSON);
- with `use_ansible`, Ansible itself: `ansible-inventory -i PATH --list`, for dynamic
  inventories (plugins, scripts) and vaulted variables. It runs the operator's inventory
  code, so it is opt-in.

Only what says how to reach a host is kept: `ansible_host`, `ansible_user`, `ansible_port`
(and their old `ansible_ssh_*` spellings) and `ansible_connection`, merged with Ansible's
precedence (group variables from the shallowest group to the deepest, then the host's own;
`group_vars/` files above the inventory's own variables). Every other variable is ignored,
never stored and never printed: inventories hold passwords (`ansible_password`,
`ansible_become_pass`). A host becomes `ssh://[user@]host[:port]`, or `local://` for
`ansible_connection: local`; any other connection (winrm, docker…) has no address, and says
why. A value Ansible would render with Jinja (`{{ … }}`) or decrypt (`!vault`) is not an
address either: only a playbook run resolves it.

A group keeps its children: a host of `[atlanta]` where `[southeast:children]` lists
atlanta is in both groups, as in Ansible.
"""

from __future__ import annotations

import ast
import ipaddress
import json
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field

from labwarden.errors import UsageError
from labwarden.model import Location
from labwarden.sources._read import DecodeError, FileTooLarge, NotRegularFile, decode_text, \
    read_regular
from labwarden.sources.yamlfile import Map, YamlLoadError, load_yaml_file

MAX_FILE = 8 << 20                     # an inventory of thousands of hosts is a few MiB
MAX_HOSTS_PER_RANGE = 10_000           # `web[0:99999]` would otherwise be a memory bomb
ANSIBLE_TIMEOUT_S = 120.0
# Ansible's own list of what an inventory directory ignores (INVENTORY_IGNORE_EXTS).
_IGNORED = (("~", ".orig", ".bak", ".cfg", ".retry", ".pyc", ".pyo", ".md", ".rst", ".txt"))
_VAR_FILE_SUFFIXES = ("", ".yml", ".yaml", ".json")
SSH_CONNECTIONS = frozenset({"ssh", "paramiko", "paramiko_ssh", "smart", "ansible.builtin.ssh",
                             "ansible.builtin.paramiko_ssh", "ansible.legacy.ssh"})
LOCAL_CONNECTIONS = frozenset({"local", "ansible.builtin.local", "ansible.legacy.local"})
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")
_HOSTNAME = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})")


class AnsibleInventoryError(UsageError):
    """An inventory that cannot be read, with the place that says why."""

    prefix = "configuration error: "

    def __init__(self, message: str, location: Location | None = None):
        super().__init__(f"{location}: {message}" if location else message)
        self.location = location


@dataclass
class AnsibleHost:
    name: str
    location: Location                 # where the inventory first names it
    groups: tuple[str, ...] = ()       # every group it is in, ancestors included, not `all`
    address: str | None = None         # ssh://… or local://; None: see `note`
    note: str | None = None            # why there is no address


@dataclass
class AnsibleInventory:
    hosts: dict[str, AnsibleHost] = field(default_factory=dict)
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)   # group -> host names
    sources: tuple[str, ...] = ()


# --- the inventory as Ansible builds it, before variables are merged ------------------------

Var = tuple[object, Location]          # a value and where it was set


@dataclass
class _Group:
    name: str
    children: list[str] = field(default_factory=list)
    vars: dict[str, Var] = field(default_factory=dict)        # the inventory file's
    file_vars: dict[str, Var] = field(default_factory=dict)   # group_vars/
    priority: int = 1


@dataclass
class _Host:
    name: str
    location: Location
    groups: list[str] = field(default_factory=list)          # direct membership
    vars: dict[str, Var] = field(default_factory=dict)
    file_vars: dict[str, Var] = field(default_factory=dict)   # host_vars/


class _Builder:
    def __init__(self) -> None:
        self.groups: dict[str, _Group] = {"all": _Group("all"), "ungrouped": _Group("ungrouped")}
        self.hosts: dict[str, _Host] = {}

    def group(self, name: str, location: Location) -> _Group:
        name = str(name)
        if not name or any(c.isspace() for c in name):
            raise AnsibleInventoryError(f"group name {name!r} is not valid", location)
        found = self.groups.get(name)
        if found is None:
            found = self.groups[name] = _Group(name)
        return found

    def add_child(self, parent: str, child: str, location: Location) -> None:
        self.group(child, location)
        if child == parent:
            raise AnsibleInventoryError(f"group {child!r} cannot be its own child", location)
        children = self.groups[parent].children
        if child not in children:
            children.append(child)

    def host(self, name: str, group: str, location: Location) -> _Host:
        found = self.hosts.get(name)
        if found is None:
            found = self.hosts[name] = _Host(name, location)
        if group not in found.groups:
            found.groups.append(group)
        return found


# --- reading --------------------------------------------------------------------------------

def load(paths: list[str], use_ansible: bool = False, cwd: str | None = None,
         where: Location | None = None) -> AnsibleInventory:
    """The hosts and groups of the inventories at `paths` (files or directories), read in
    order as `ansible -i A -i B` would. `where`: the place in labwarden.yaml that named them,
    for errors about the paths themselves."""
    builder = _Builder()
    if use_ansible:
        _read_json_text(builder, _run_ansible_inventory(paths, cwd, where), " ".join(paths))
    else:
        for path in paths:
            if not os.path.exists(path):
                raise AnsibleInventoryError(f"no Ansible inventory at {path}", where)
            if os.path.isdir(path):
                _read_directory(builder, path)
            else:
                _read_file(builder, path)
            _read_var_dirs(builder, path if os.path.isdir(path) else os.path.dirname(path))
    return _finish(builder, tuple(paths))


def _read_directory(builder: _Builder, directory: str) -> None:
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if name.startswith(".") or name.endswith(_IGNORED) or name in ("group_vars",
                                                                       "host_vars"):
            continue
        if os.path.isdir(path):
            _read_directory(builder, path)
        elif os.path.isfile(path):
            _read_file(builder, path)


def _read_file(builder: _Builder, path: str) -> None:
    if path.endswith((".yml", ".yaml")):
        _read_yaml(builder, path)
        return
    text = _text(path)
    if path.endswith(".json") or text.lstrip().startswith("{"):
        _read_json_text(builder, text, path)
    elif text.startswith("#!"):
        raise AnsibleInventoryError("an inventory script: labwarden does not run it; set "
                                    "`ansible_inventory: {path: …, use_ansible: true}` to "
                                    "have ansible-inventory run it", Location(path, 1))
    else:
        _read_ini(builder, text, path)


def _text(path: str) -> str:
    try:
        return decode_text(read_regular(path, MAX_FILE))
    except (NotRegularFile, FileTooLarge) as exc:
        raise AnsibleInventoryError(f"not read: {exc.strerror}", Location(path)) from None
    except DecodeError as exc:
        raise AnsibleInventoryError(f"not text: {exc}", Location(path)) from None
    except OSError as exc:
        raise AnsibleInventoryError(f"cannot read it: {exc.strerror or exc}",
                                    Location(path)) from None


def _yaml(path: str) -> object:
    try:
        _, documents, _problems = load_yaml_file(path, MAX_FILE)
    except YamlLoadError as exc:
        raise AnsibleInventoryError(exc.message, exc.location) from None
    except OSError as exc:
        raise AnsibleInventoryError(f"cannot read it: {exc.strerror or exc}",
                                    Location(path)) from None
    return documents[0] if documents else None


# YAML: {group: {hosts: {pattern: vars}, children: {group: …}, vars: {…}}}

def _read_yaml(builder: _Builder, path: str) -> None:
    data = _yaml(path)
    if data is None:
        return
    if not isinstance(data, Map):
        raise AnsibleInventoryError("an Ansible YAML inventory is a mapping of groups",
                                    Location(path, 1))
    if "plugin" in data:
        raise AnsibleInventoryError(
            f"an inventory plugin configuration (plugin: {data['plugin']}): labwarden does "
            "not run plugins; set `ansible_inventory: {path: …, use_ansible: true}` to have "
            "ansible-inventory run it", data.loc_of("plugin"))
    for name, body in data.items():
        _yaml_group(builder, str(name), body, data.loc_of(name) or Location(path), 0)


def _yaml_group(builder: _Builder, name: str, body: object, loc: Location, depth: int) -> None:
    if depth > 64:
        raise AnsibleInventoryError("groups nested more than 64 deep", loc)
    group = builder.group(name, loc)
    if body is None:
        return
    if not isinstance(body, Map):
        raise AnsibleInventoryError(f"group {name!r} must be a mapping (hosts:, children:, "
                                    "vars:)", loc)
    hosts = body.get("hosts")
    if isinstance(hosts, Map):
        for pattern, host_vars in hosts.items():
            where = hosts.loc_of(pattern) or loc
            for host_name, port in _expand(str(pattern), where):
                host = builder.host(host_name, group.name, where)
                if port is not None:
                    host.vars["ansible_port"] = (port, where)
                if isinstance(host_vars, Map):
                    host.vars.update(_vars_of(host_vars, where))
                elif host_vars is not None:
                    raise AnsibleInventoryError(f"host {host_name!r}: its variables must be "
                                                "a mapping", where)
    elif hosts is not None:
        raise AnsibleInventoryError(f"group {name!r}: `hosts` must be a mapping",
                                    body.loc_of("hosts"))
    variables = body.get("vars")
    if isinstance(variables, Map):
        group.vars.update(_vars_of(variables, body.loc_of("vars") or loc))
    elif variables is not None:
        raise AnsibleInventoryError(f"group {name!r}: `vars` must be a mapping",
                                    body.loc_of("vars"))
    children = body.get("children")
    if isinstance(children, Map):
        for child, child_body in children.items():
            where = children.loc_of(child) or loc
            builder.add_child(group.name, str(child), where)
            _yaml_group(builder, str(child), child_body, where, depth + 1)
    elif children is not None:
        raise AnsibleInventoryError(f"group {name!r}: `children` must be a mapping",
                                    body.loc_of("children"))


def _vars_of(mapping: Map, fallback: Location) -> dict[str, Var]:
    return {str(k): (v, mapping.loc_of(k) or fallback) for k, v in mapping.items()}


# INI: [group], [group:children], [group:vars]; hosts before any section are ungrouped.

_SECTION = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:[#;].*)?$")


def _read_ini(builder: _Builder, text: str, path: str) -> None:
    group, state = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        loc = Location(path, number)
        if line.startswith("["):
            match = _SECTION.match(line)
            if not match:
                raise AnsibleInventoryError(f"not an inventory section header: {line[:80]!r}",
                                            loc)
            group, state = match.group(1), match.group(2) or "hosts"
            if state not in ("hosts", "children", "vars"):
                raise AnsibleInventoryError(f"section [{group}:{state}]: Ansible knows "
                                            ":children and :vars", loc)
            builder.group(group, loc)
            continue
        if state == "children":
            builder.add_child(group, line.split()[0], loc)
        elif state == "vars":
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise AnsibleInventoryError(f"[{group}:vars] takes key=value lines", loc)
            builder.groups[group].vars[key.strip()] = (_ini_value(value.strip()), loc)
        else:
            _ini_host(builder, group, line, loc)


def _ini_host(builder: _Builder, group: str, line: str, loc: Location) -> None:
    try:
        tokens = shlex.split(line, comments=True)
    except ValueError as exc:
        raise AnsibleInventoryError(f"cannot split the host line: {exc}", loc) from None
    if not tokens:
        return
    pairs = {}
    for token in tokens[1:]:
        key, sep, value = token.partition("=")
        if not sep:
            raise AnsibleInventoryError(f"host variables are key=value, not {token[:40]!r}",
                                        loc)
        pairs[key] = (_ini_value(value), loc)
    for name, port in _expand(tokens[0], loc):
        host = builder.host(name, group, loc)
        if port is not None:
            host.vars["ansible_port"] = (port, loc)
        host.vars.update(pairs)


def _ini_value(text: str) -> object:
    """As Ansible reads an INI value: a Python literal where it is one, else the text."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return text


# JSON: what `ansible-inventory --list` (and an inventory script) prints.

def _read_json_text(builder: _Builder, text: str, path: str) -> None:
    loc = Location(path)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise AnsibleInventoryError(f"not JSON: {exc}", loc) from None
    if not isinstance(data, dict):
        raise AnsibleInventoryError("inventory JSON must be an object of groups", loc)
    meta: dict = data["_meta"] if isinstance(data.get("_meta"), dict) else {}
    for name, body in data.items():
        if name == "_meta":
            continue
        builder.group(name, loc)
        if isinstance(body, list):                  # a script's short form: a host list
            body = {"hosts": body}
        if not isinstance(body, dict):
            raise AnsibleInventoryError(f"group {name!r} must be an object", loc)
        for host_name in body.get("hosts") or []:
            for expanded, port in _expand(str(host_name), loc):
                host = builder.host(expanded, name, loc)
                if port is not None:
                    host.vars["ansible_port"] = (port, loc)
        for child in body.get("children") or []:
            builder.add_child(name, str(child), loc)
        if isinstance(body.get("vars"), dict):
            builder.groups[name].vars.update({k: (v, loc) for k, v in body["vars"].items()})
    hostvars: dict = meta["hostvars"] if isinstance(meta.get("hostvars"), dict) else {}
    for name, variables in hostvars.items():
        if name not in builder.hosts:
            builder.host(name, "ungrouped", loc)
        if isinstance(variables, dict):
            builder.hosts[name].vars.update({k: (v, loc) for k, v in variables.items()})


def _run_ansible_inventory(paths: list[str], cwd: str | None, where: Location | None) -> str:
    program = shutil.which("ansible-inventory")
    if program is None:
        raise AnsibleInventoryError("use_ansible: ansible-inventory is not installed (the "
                                    "Debian package ansible-core); or name the inventory's "
                                    "YAML or INI files without use_ansible", where)
    argv = [program]
    for path in paths:
        argv += ["-i", path]
    argv.append("--list")
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, timeout=ANSIBLE_TIMEOUT_S,
                              stdin=subprocess.DEVNULL, check=False,
                              env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0"))
    except subprocess.TimeoutExpired:
        raise AnsibleInventoryError(f"ansible-inventory gave no answer within "
                                    f"{ANSIBLE_TIMEOUT_S:g} s", where) from None
    except OSError as exc:
        raise AnsibleInventoryError(f"ansible-inventory could not run: {exc.strerror}",
                                    where) from None
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        why = lines[-1][:200] if lines else f"exit status {done.returncode}"
        raise AnsibleInventoryError(f"ansible-inventory failed: {why}", where)
    return done.stdout.decode("utf-8", "replace")


# group_vars/ and host_vars/ beside the inventory

def _read_var_dirs(builder: _Builder, directory: str) -> None:
    for kind in ("group_vars", "host_vars"):
        base = os.path.join(directory, kind)
        if not os.path.isdir(base):
            continue
        for entry in sorted(os.listdir(base)):
            name, path = _var_target(entry), os.path.join(base, entry)
            if name is None:
                continue
            found = _var_files(path)
            if kind == "group_vars":
                target = builder.groups.get(name)
                if target is None:
                    continue        # Ansible ignores the vars of a group no inventory has
                for file in found:
                    target.file_vars.update(_var_file(file))
            elif name in builder.hosts:
                for file in found:
                    builder.hosts[name].file_vars.update(_var_file(file))


def _var_target(entry: str) -> str | None:
    if entry.startswith("."):
        return None
    for suffix in (".yml", ".yaml", ".json"):
        if entry.endswith(suffix):
            return entry[:-len(suffix)]
    return entry


def _var_files(path: str) -> list[str]:
    if os.path.isfile(path):
        return [path]
    found = []
    if os.path.isdir(path):
        for root, dirs, files in os.walk(path):
            dirs.sort()
            found += [os.path.join(root, f) for f in sorted(files)
                      if f.endswith(_VAR_FILE_SUFFIXES[1:]) and not f.startswith(".")]
    return found


def _var_file(path: str) -> dict[str, Var]:
    with_header = _text(path)
    if with_header.startswith("$ANSIBLE_VAULT;"):
        return {}                           # encrypted: only Ansible can read it
    data = _yaml(path)
    if data is None:
        return {}
    if not isinstance(data, Map):
        raise AnsibleInventoryError("a variables file must be a mapping", Location(path, 1))
    return _vars_of(data, Location(path, 1))


# --- host patterns: `web[01:20].lab:2222`, `[2001:db8::1]:22` ------------------------------

_RANGE = re.compile(r"\[([^\]:]+):([^\]:]+)(?::(\d+))?\]")
_BRACKETED_V6 = re.compile(r"^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$")
_WITH_PORT = re.compile(r"^([^:\[\]]+|[^:]*\[[^\]]*\][^:]*):(\d+)$")


def _expand(pattern: str, loc: Location) -> list[tuple[str, int | None]]:
    """The host names a pattern stands for, each with the port it names (or None)."""
    pattern = pattern.strip()
    match = _BRACKETED_V6.match(pattern)
    if match:
        return [(match.group(1), int(match.group(2)) if match.group(2) else None)]
    port = None
    if pattern.count(":") == 1 or (pattern.count(":") > 1 and "[" in pattern):
        with_port = _WITH_PORT.match(pattern)
        if with_port:
            pattern, port = with_port.group(1), int(with_port.group(2))
    names = _expand_ranges(pattern, loc)
    return [(name, port) for name in names]


def _expand_ranges(pattern: str, loc: Location) -> list[str]:
    match = _RANGE.search(pattern)
    if match is None:
        return [pattern]
    start, end, step = match.group(1), match.group(2), int(match.group(3) or 1)
    head, tail = pattern[:match.start()], pattern[match.end():]
    if start.isdigit() and end.isdigit():
        width = len(start) if start.startswith("0") else 0
        low, high = int(start), int(end)
        values = [str(n).zfill(width) for n in range(low, high + 1, max(step, 1))] \
            if high >= low and (high - low) // max(step, 1) < MAX_HOSTS_PER_RANGE else None
    elif len(start) == 1 and len(end) == 1 and start.isalpha() and end.isalpha():
        values = [chr(c) for c in range(ord(start), ord(end) + 1, max(step, 1))] \
            if end >= start else None
    else:
        values = None
    if not values:
        raise AnsibleInventoryError(f"host range [{match.group(0)[1:-1]}] is not a range "
                                    f"Ansible expands (at most {MAX_HOSTS_PER_RANGE} hosts)",
                                    loc)
    found: list[str] = []
    for value in values:
        found += _expand_ranges(head + value + tail, loc)
        if len(found) > MAX_HOSTS_PER_RANGE:
            raise AnsibleInventoryError(f"host pattern {pattern[:60]!r} expands to more than "
                                        f"{MAX_HOSTS_PER_RANGE} hosts", loc)
    return found


# --- merging variables, and what reaches a host ----------------------------------------------

def _finish(builder: _Builder, sources: tuple[str, ...]) -> AnsibleInventory:
    groups = builder.groups
    for name, group in groups.items():
        priority = group.file_vars.get("ansible_group_priority") or \
            group.vars.get("ansible_group_priority")
        if priority is not None:
            try:
                group.priority = int(str(priority[0]))
            except ValueError:
                raise AnsibleInventoryError(f"group {name!r}: ansible_group_priority must "
                                            "be a number", priority[1]) from None
    parents: dict[str, set[str]] = {name: set() for name in groups}
    for name, group in groups.items():
        for child in group.children:
            parents[child].add(name)
    for name in groups:                          # every top-level group is a child of all
        if name != "all" and not parents[name]:
            parents[name].add("all")
            groups["all"].children.append(name)
    depth = _depths(groups, parents)
    inventory = AnsibleInventory(sources=sources)
    members: dict[str, set[str]] = {name: set() for name in groups}
    for host in builder.hosts.values():
        direct = [g for g in host.groups if g != "all"] or ["ungrouped"]
        every = _ancestors(direct, parents)
        # A host in a real group is not `ungrouped`, whatever section first named it.
        if len(every - {"all", "ungrouped"}) > 0:
            every.discard("ungrouped")
        for member_of in every:
            members[member_of].add(host.name)
        members["all"].add(host.name)
        ordered = sorted(every | {"all"}, key=lambda g: (depth[g], groups[g].priority, g))
        merged: dict[str, Var] = {}
        for name in ordered:
            merged.update(groups[name].vars)
        # group_vars/ files weigh more than any inventory file's group variables; all first
        for name in ordered:
            merged.update(groups[name].file_vars)
        merged.update(host.vars)
        merged.update(host.file_vars)
        address, note = _address(host.name, merged, host.location)
        inventory.hosts[host.name] = AnsibleHost(
            host.name, host.location, tuple(sorted(every - {"all"})), address, note)
    inventory.groups = {name: tuple(sorted(hosts)) for name, hosts in sorted(members.items())}
    return inventory


def _depths(groups: dict[str, _Group], parents: dict[str, set[str]]) -> dict[str, int]:
    """Each group's depth below `all` (the longest path, as Ansible counts it); a cycle of
    children is an error rather than an endless loop."""
    depth: dict[str, int] = {}
    visiting: set[str] = set()

    def of(name: str) -> int:
        if name in depth:
            return depth[name]
        if name in visiting:
            raise AnsibleInventoryError(f"group {name!r} is its own ancestor (a cycle of "
                                        "children)")
        visiting.add(name)
        value = 0 if name == "all" else 1 + max((of(p) for p in parents[name]), default=0)
        visiting.discard(name)
        depth[name] = value
        return value

    for name in groups:
        of(name)
    return depth


def _ancestors(direct: list[str], parents: dict[str, set[str]]) -> set[str]:
    found: set[str] = set()
    todo = list(direct)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        todo.extend(parents.get(name, ()))
    return found


def _value(merged: dict[str, Var], *keys: str) -> Var | None:
    for key in keys:
        if key in merged and merged[key][0] is not None:
            return merged[key]
    return None


def _unresolved(value: object) -> str | None:
    if isinstance(value, str) and value.lstrip().startswith("$ANSIBLE_VAULT;"):
        return "is encrypted with Ansible Vault"     # `!vault |` reads as its ciphertext
    if isinstance(value, dict) and "__ansible_vault" in value:
        return "is encrypted with Ansible Vault"
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        return "is a Jinja template (only a playbook run renders it)"
    return None


def _address(name: str, merged: dict[str, Var], loc: Location) -> tuple[str | None, str | None]:
    """`ssh://[user@]host[:port]` or `local://` for a host, or None and why not."""
    connection = _value(merged, "ansible_connection")
    kind = str(connection[0]).strip() if connection else "ssh"
    if kind in LOCAL_CONNECTIONS:
        return "local://", None
    if kind not in SSH_CONNECTIONS:
        return None, (f"ansible_connection {kind} is not one labwarden collects over (ssh or "
                      "local)")
    host_var = _value(merged, "ansible_host", "ansible_ssh_host")
    host, host_loc = (host_var[0], host_var[1]) if host_var else (name, loc)
    why = _unresolved(host)
    if why:
        return None, f"ansible_host {why}; give the host an `address:` in labwarden.yaml"
    host = str(host).strip()
    try:
        ip = ipaddress.ip_address(host)
        shown = f"[{ip}]" if ip.version == 6 else str(ip)
    except ValueError:
        if not _HOSTNAME.fullmatch(host):
            raise AnsibleInventoryError(f"host {name!r}: {host[:80]!r} is not a host name or "
                                        "address", host_loc) from None
        shown = host
    user_var = _value(merged, "ansible_user", "ansible_ssh_user")
    user = ""
    if user_var:
        why = _unresolved(user_var[0])
        if why:
            return None, f"ansible_user {why}; give the host an `address:` in labwarden.yaml"
        user = str(user_var[0]).strip()
        if not _USER.fullmatch(user):
            raise AnsibleInventoryError(f"host {name!r}: ansible_user {user[:40]!r} is not a "
                                        "user name", user_var[1])
    port_var = _value(merged, "ansible_port", "ansible_ssh_port")
    port = None
    if port_var:
        why = _unresolved(port_var[0])
        if why:
            return None, f"ansible_port {why}; give the host an `address:` in labwarden.yaml"
        try:
            port = int(str(port_var[0]).strip())
        except ValueError:
            port = 0
        if not 0 < port < 65536:
            raise AnsibleInventoryError(f"host {name!r}: ansible_port must be a port number "
                                        "(1-65535)", port_var[1])
    return (f"ssh://{user + '@' if user else ''}{shown}"
            f"{':' + str(port) if port and port != 22 else ''}"), None
