"""Attestations, sign-offs and deployment records: what people vouched for, in a reviewable
YAML file beside labwarden.yaml (commit it; review it like code).

    lab:                                  # answers the item for every service
      items:
        "5.1.1": {by: jdoe, date: 2026-11-20, note: PBS backs up every guest nightly}
    hosts:                                # every service whose inventory `host:` is pve1
      pve1:
        items:
          "1.4.2": {by: jdoe, date: 2026-11-20, note: sshd hardened by the ansible role}
    groups:                               # every service that lists `groups: [media]`
      media:
        items:
          "6.1.3": {by: jdoe, date: 2026-11-20, note: promtail ships their logs to Loki}
    services:
      grafana:
        items:
          "1.2.1": {by: jdoe, date: 2026-11-20, note: TOTP for admins,
                    evidence: "https://wiki/grafana-mfa", expires: 2027-05-20}
          "1.3.1": {by: jdoe, date: 2026-11-20, na: no SSO in this lab}
        approvals:
          security_reviewer: {name: alice, date: 2026-11-21}
        deployment: {date: 2026-11-22, method: ci_cd, status: success,
                     issues: none, lessons: ...}

Scopes. An item is answered once for the scope it is true of; `record_for(service)` builds
a service's effective record, the most specific answer winning: service > group > host >
lab (between two groups of one service, the one it lists first). The winner stays the
answer even once expired, so a service's own expired attestation shows OPEN rather than
hiding behind a lab-wide one. Each `Attestation` says which scope it came from (`scope`:
"service", "group media", "host pve1", "lab"). Approvals and deployment records belong to
one service only.

Reading uses the safe loader (with line numbers for errors) and checks a schema: an unknown
key (`expire:`), a date that is not one, an expiry before the attestation's date, a list
where text belongs is an error at its line, with a did-you-mean. Given the inventory and the
catalogue (as every command gives them), a service, host or group that the inventory does
not define, or an item the checklist does not have, is an error too (a misspelt name would
otherwise answer nothing, silently).

Writing splices the new entries into the text (`yamledit`), so the reviewers' comments and
layout survive and a diff shows only what was written; it runs under the file's lock
(`fsio`) on the file as it is then, and the result replaces the file atomically only when it
reads back under the same schema, holds exactly the entries it held plus the ones written
(nothing else changed or lost) and keeps every comment. A batch (`attest` of many items,
`attest --from`) is one such write. Writing refuses a date in the future and an expiry
already past.
"""

from __future__ import annotations

import collections
import datetime as dt
import difflib
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from labwarden.config import ConfigError, read_documents
from labwarden.model import Location
from labwarden.sources.yamlfile import Map, Seq, YamlLoadError, parse_yaml

if TYPE_CHECKING:
    from labwarden.checklist.catalog import Catalog
    from labwarden.checklist.signoff import SignedState
    from labwarden.inventory import Inventory, InventoryService

ROLES = ("service_owner", "security_reviewer", "infrastructure_owner")
METHODS = ("manual", "ansible", "ci_cd")
STATUSES = ("success", "failed", "rolled_back")
SCOPE_KINDS = ("lab", "host", "group", "service")


@dataclass(frozen=True)
class Scope:
    """Where an attestation is written and which services it answers for."""

    kind: str                        # one of SCOPE_KINDS
    name: str = ""                   # the host, group or service; "" for the lab

    def __str__(self) -> str:
        return self.kind if self.kind == "lab" else f"{self.kind} {self.name}"

    @property
    def label(self) -> str:
        """What `Attestation.scope` says: "service", "group media", "host pve1", "lab"."""
        return "service" if self.kind == "service" else str(self)

    @property
    def items_path(self) -> tuple[str, ...]:
        """The keys leading to its `items:` mapping in the file."""
        if self.kind == "lab":
            return ("lab", "items")
        return (self.kind + "s", self.name, "items")


def parse_scope(text: str) -> Scope:
    """`lab`, `host NAME`, `group NAME` or `service NAME`; ValueError says what is wrong."""
    kind, _, name = str(text).strip().partition(" ")
    name = name.strip()
    if kind not in SCOPE_KINDS:
        raise ValueError(f"scope {text!r} is not one of `lab`, `host NAME`, `group NAME`, "
                         f"`service NAME`{_did_you_mean(kind, SCOPE_KINDS)}")
    if (kind == "lab") != (not name):
        raise ValueError("scope `lab` takes no name" if name else
                         f"scope `{kind}` needs a name: `{kind} NAME`")
    return Scope(kind, name)


def scopes_of(service: InventoryService) -> list[Scope]:
    """The scopes whose attestations answer for `service`, most specific first."""
    scopes = [Scope("service", service.name)]
    scopes += [Scope("group", group) for group in service.groups]
    if service.host is not None:
        scopes.append(Scope("host", service.host.name))
        # Its host's groups (labwarden.yaml or the Ansible inventory): "SSH hardened on
        # every host of group docker" answers for every service on those hosts.
        scopes += [Scope("group", group) for group in service.host.groups
                   if group not in service.groups]
    scopes.append(Scope("lab"))
    return scopes


def unknown_scope(scope: Scope, inventory: Inventory) -> str | None:
    """Why `scope` names nothing the inventory defines (with the closest name), or None."""
    if scope.kind == "lab":
        return None
    if scope.kind == "service":
        known, where = list(inventory.services), "defined in the inventory"
    elif scope.kind == "host":
        known, where = list(inventory.hosts), "defined under `hosts:` in the inventory"
    else:
        known = list(inventory.groups) + [g for g in inventory.host_groups
                                          if g != "all" and g not in inventory.groups]
        where = "declared by any service or host (`groups:`, or the Ansible inventory)"
    if scope.name in known:
        return None
    hint = _did_you_mean(scope.name, known) or (
        f" (known: {', '.join(sorted(known))})" if known else "")
    return f"{scope.kind} {scope.name!r} is not {where}{hint}"


def services_in(scope: Scope, inventory: Inventory) -> list[InventoryService]:
    """The inventory's services that an attestation at `scope` answers for."""
    return [s for s in inventory.services.values() if scope in scopes_of(s)]


@dataclass
class Attestation:
    item_id: str
    by: str
    date: str
    note: str = ""
    evidence: str = ""
    expires: str = ""
    na: str = ""                     # the reason, when the item does not apply
    location: Location | None = None
    scope: str = "service"           # Scope.label of where it is written

    def expired(self, today: dt.date) -> bool:
        return bool(self.expires) and dt.date.fromisoformat(self.expires) < today

    def described(self) -> str:
        """One line for messages: what it says, by whom, when, from which scope."""
        what = f"N/A ({self.na})" if self.na else "attestation"
        note = f": {self.note}" if self.note and not self.na else ""
        where = "" if self.scope == "service" else f" [{self.scope}]"
        return f"{what} by {self.by} of {self.date}{where}{note}"


@dataclass
class Approval:
    role: str
    name: str
    date: str
    state: SignedState | None = None    # what it approved (checklist/signoff.py)


@dataclass
class Deployment:
    date: str = ""
    method: str = ""
    status: str = ""
    issues: str = ""
    lessons: str = ""
    override: str = ""               # why it went live although the gate said NO-GO


@dataclass
class ServiceRecord:
    items: dict[str, Attestation] = field(default_factory=dict)
    approvals: dict[str, Approval] = field(default_factory=dict)
    deployment: Deployment | None = None


# (the keys leading to an entry, the entry's values): one change `_write` makes
Change = tuple[tuple[str, ...], dict]


class AttestationBook:
    """The attestation file, read and checked. `inventory` and `catalog` (when given) also
    check the names and item IDs it uses; `today` is the date writes are checked against."""

    def __init__(self, path: str, inventory: Inventory | None = None,
                 catalog: Catalog | None = None, today: dt.date | None = None):
        self.path = path
        self.inventory = inventory
        self.catalog = catalog
        self.today = today or dt.date.today()
        self.services: dict[str, ServiceRecord] = {}
        self.scoped: dict[Scope, dict[str, Attestation]] = {}   # lab, host and group items
        if os.path.exists(path):
            self._load()

    def items_at(self, scope: Scope) -> dict[str, Attestation]:
        """The attestations written at `scope` itself (none inherited)."""
        if scope.kind == "service":
            record = self.services.get(scope.name)
            return record.items if record else {}
        return self.scoped.get(scope, {})

    def record_for(self, service: InventoryService) -> ServiceRecord:
        """The service's effective record: its own approvals and deployment, and for each
        item the attestation of its most specific scope (service > group > host > lab)."""
        own = self.services.get(service.name) or ServiceRecord()
        items: dict[str, Attestation] = {}
        for scope in reversed(scopes_of(service)):
            items.update(self.items_at(scope))
        return ServiceRecord(items, own.approvals, own.deployment)

    def overriding(self, service: InventoryService, scope: Scope,
                   item_id: str) -> Attestation | None:
        """The attestation of `item_id` that answers for `service` instead of one written at
        `scope`, because its scope is more specific; None when `scope` would answer."""
        for candidate in scopes_of(service):
            if candidate == scope:
                return None
            found = self.items_at(candidate).get(item_id)
            if found is not None:
                return found
        return None

    # --- reading ------------------------------------------------------------------------

    def _load(self) -> None:
        self._parse(read_documents(self.path), [])

    def _parse(self, documents, problems) -> Map:
        for _code, message, loc in problems:
            raise ConfigError(message, loc)
        self.services, self.scoped = {}, {}
        data = documents[0] if documents else Map()
        if data is None:                       # a file of comments only
            data = Map()
        if not isinstance(data, Map):
            raise ConfigError("the attestation file must be a mapping with `services:` (or "
                              "`lab:`, `hosts:`, `groups:`)", Location(self.path, 1))
        _known_keys(data, _TOP_KEYS, "the attestation file")
        if data.get("lab") is not None:
            self._scope_items(Scope("lab"), _mapping(data, "lab"), "`lab`")
        for kind in ("host", "group"):
            named = _mapping(data, kind + "s")
            for name, spec in named.items():
                self._check_name(kind, str(name), named.loc_of(name))
                if not isinstance(spec, Map):
                    raise ConfigError(f"{kind} {name!r} must be a mapping with `items:`",
                                      named.loc_of(name))
                self._scope_items(Scope(kind, str(name)), spec, f"{kind} {name!r}")
        services = _mapping(data, "services")
        for name, spec in services.items():
            self._check_name("service", str(name), services.loc_of(name))
            if not isinstance(spec, Map):
                raise ConfigError(f"service {name!r} must be a mapping", services.loc_of(name))
            _known_keys(spec, _SERVICE_KEYS, f"service {name!r}")
            self.services[str(name)] = self._service(spec)
        return data

    def _scope_items(self, scope: Scope, spec: Map, what: str) -> None:
        _known_keys(spec, _SCOPE_KEYS, what)
        self.scoped[scope] = self._items(_mapping(spec, "items"), scope.label)

    def _items(self, items: Map, scope: str) -> dict[str, Attestation]:
        found = {}
        for item_id, entry in items.items():
            loc = items.loc_of(item_id)
            self._check_item(str(item_id), loc)
            found[str(item_id)] = _attestation(str(item_id), entry, loc, scope)
        return found

    def _service(self, spec: Map) -> ServiceRecord:
        record = ServiceRecord(items=self._items(_mapping(spec, "items"), "service"))
        approvals = _mapping(spec, "approvals")
        for role, entry in approvals.items():
            if role not in ROLES:
                raise ConfigError(f"unknown approval role {role!r}{_did_you_mean(role, ROLES)}"
                                  f" (one of {', '.join(ROLES)})", approvals.loc_of(role))
            record.approvals[role] = _approval(role, entry, approvals.loc_of(role))
        if spec.get("deployment") is not None:
            record.deployment = _deployment(_mapping(spec, "deployment"))
        return record

    def _check_name(self, kind: str, name: str, loc: Location | None) -> None:
        """A name the inventory does not define answers nothing: an error, not a no-op."""
        problem = self.inventory and unknown_scope(Scope(kind, name), self.inventory)
        if problem:
            raise ConfigError(problem, loc)

    def _check_item(self, item_id: str, loc: Location | None) -> None:
        if self.catalog is not None and item_id not in self.catalog.items_by_id:
            raise ConfigError(f"no checklist item {item_id!r}"
                              f"{_did_you_mean(item_id, list(self.catalog.items_by_id))}", loc)

    # --- writing ------------------------------------------------------------------------

    def attest(self, answers: Sequence[tuple[Scope, Attestation]]
               ) -> list[tuple[Scope, Attestation]]:
        """Write every answer in one replace of the file. Returns the attestations they
        replaced, as the file held them under its lock."""
        for _scope, attestation in answers:
            check_dates(attestation, self.today)
        replaced: list[tuple[Scope, Attestation]] = []

        def seen() -> None:            # the file as it is now, under the lock
            replaced[:] = [(scope, self.items_at(scope)[a.item_id]) for scope, a in answers
                           if a.item_id in self.items_at(scope)]

        self._write([(scope.items_path + (a.item_id,), _entry(a)) for scope, a in answers],
                    seen)
        return replaced

    def approve(self, service: str, approval: Approval) -> None:
        _not_future(approval.date, self.today, "the approval date")
        entry: dict = {"name": approval.name, "date": approval.date}
        if approval.state is not None:              # what it approved (checklist/signoff.py)
            entry["state"] = approval.state.as_yaml()
        self._write([(("services", service, "approvals", approval.role), entry)])

    def set_deployment(self, service: str, deployment: Deployment) -> None:
        _not_future(deployment.date, self.today, "the deployment date")
        self._write([(("services", service, "deployment"),
                      {k: v for k, v in vars(deployment).items() if v})])

    def _write(self, changes: list[Change], seen: Callable[[], None] | None = None) -> None:
        """Apply `changes` to the file as it is now (under its lock: a parallel `attest` is
        never lost), check the result, and replace the file atomically. Checked: it reads
        back under the schema, it holds what the file held plus `changes` and nothing else,
        and it keeps every comment. Any doubt writes nothing."""
        from labwarden import fsio

        target = fsio.inside(os.path.dirname(os.path.abspath(self.path)), self.path)
        os.makedirs(os.path.dirname(target), exist_ok=True)

        def edit(current: str | None) -> str:
            # Never build on a file that is wrong.
            before = _plain(self._parse_text(current)) if current is not None else {}
            if current is None:
                self.services, self.scoped = {}, {}
            if seen is not None:
                seen()
            text = _edited(current, changes)
            try:
                after = _plain(self._parse_text(text))
            except ConfigError as exc:
                raise ConfigError(f"{self.path}: not written, the result would be invalid "
                                  f"({exc})") from None
            self._check_nothing_lost(before, after, changes, current or "", text)
            return text

        try:
            fsio.update(target, edit)
        except fsio.WriteRefused as exc:
            raise ConfigError(str(exc)) from None

    def _check_nothing_lost(self, before: dict, after: dict, changes: list[Change],
                            old: str, new: str) -> None:
        expected = before
        for path, values in changes:
            expected = _with(expected, path, values)
        if after != expected:
            raise ConfigError(f"{self.path}: not written: the rewrite would change "
                              f"{_first_difference(expected, after)} besides what was "
                              "asked (a labwarden bug; please report it)")
        lost = _comments(old) - _comments(new)
        if lost:
            comment = next(iter(lost))
            raise ConfigError(f"{self.path}: not written: the rewrite would drop the comment "
                              f"{comment!r}; move it outside the entry being replaced and "
                              "run the command again")

    def _parse_text(self, text: str) -> Map:
        try:
            documents, problems = parse_yaml(text, self.path)
        except YamlLoadError as exc:
            raise ConfigError(exc.message, exc.location) from None
        return self._parse(documents, problems)


def check_dates(attestation: Attestation, today: dt.date) -> None:
    """What a new attestation may not say: a date after today, an expiry before it."""
    _not_future(attestation.date, today, f"the attestation date of {attestation.item_id}")
    if attestation.expires and dt.date.fromisoformat(attestation.expires) < today:
        raise ConfigError(f"expiry {attestation.expires} of {attestation.item_id} is in the "
                          f"past (today is {today.isoformat()}): an expired attestation "
                          "answers nothing; nothing written")


def _not_future(date: str, today: dt.date, what: str) -> None:
    if date and dt.date.fromisoformat(date) > today:
        raise ConfigError(f"{what} {date} is in the future (today is {today.isoformat()}); "
                          "nothing written")


def _entry(attestation: Attestation) -> dict:
    entry = {"by": attestation.by, "date": attestation.date}
    for key in ("note", "evidence", "expires", "na"):
        value = getattr(attestation, key)
        if value:
            entry[key] = value
    return entry


_TOP_KEYS = ("lab", "hosts", "groups", "services")
_SCOPE_KEYS = ("items",)
_SERVICE_KEYS = ("items", "approvals", "deployment")
_ITEM_KEYS = ("by", "date", "note", "evidence", "expires", "na")
_APPROVAL_KEYS = ("name", "date", "state")
_DEPLOYMENT_KEYS = ("date", "method", "status", "issues", "lessons", "override")


def _attestation(item_id: str, entry, loc: Location | None,
                 scope: str = "service") -> Attestation:
    if not isinstance(entry, Map):
        raise ConfigError(f"attestation of {item_id} must be a mapping (by, date, note…)", loc)
    _known_keys(entry, _ITEM_KEYS, f"attestation of {item_id}")
    if not entry.get("by") or not entry.get("date"):
        raise ConfigError(f"attestation of {item_id} needs at least `by` and `date`", loc)
    date = _date(entry["date"], entry.loc_of("date"), "date")
    expires = _date(entry.get("expires"), entry.loc_of("expires"), "expires")
    if expires and expires < date:
        raise ConfigError(f"attestation of {item_id} expires ({expires}) before its date "
                          f"({date})", entry.loc_of("expires"))
    return Attestation(item_id, _text(entry, "by"), date, note=_text(entry, "note"),
                       evidence=_text(entry, "evidence"), expires=expires,
                       na=_text(entry, "na"), location=loc, scope=scope)


def _approval(role: str, entry, loc: Location | None) -> Approval:
    if not isinstance(entry, Map) or not entry.get("name"):
        raise ConfigError(f"approval {role!r} needs at least `name` (and `date`)", loc)
    _known_keys(entry, _APPROVAL_KEYS, f"approval {role!r}")
    state = None
    if entry.get("state") is not None:           # what it approved: checklist/signoff.py
        from labwarden.checklist.signoff import STATE_KEYS, parse_state

        where = f"the state of approval {role!r}"
        _known_keys(_mapping(entry, "state"), STATE_KEYS, where)
        state = parse_state(entry["state"], where, entry.loc_of("state"))
    return Approval(role, _text(entry, "name"), _date(entry.get("date"), entry.loc_of("date"),
                                                      "date"), state)


def _deployment(entry: Map) -> Deployment:
    _known_keys(entry, _DEPLOYMENT_KEYS, "deployment")
    for key, choices in (("method", METHODS), ("status", STATUSES)):
        value = _text(entry, key)
        if value and value not in choices:
            raise ConfigError(f"deployment {key} must be one of {', '.join(choices)}, not "
                              f"{value!r}{_did_you_mean(value, choices)}", entry.loc_of(key))
    deployment = Deployment(**{k: _text(entry, k) for k in _DEPLOYMENT_KEYS})
    deployment.date = _date(entry.get("date"), entry.loc_of("date"), "date")
    return deployment


def _known_keys(node: Map, known: tuple[str, ...], what: str) -> None:
    for key in node:
        if key not in known:
            raise ConfigError(f"unknown key {key!r} in {what}{_did_you_mean(key, known)} "
                              f"(known: {', '.join(known)})", node.loc_of(key))


def _did_you_mean(key, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(key), list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _mapping(node: Map, key: str) -> Map:
    value = node.get(key)
    if value is None:
        return Map()
    if not isinstance(value, Map):
        raise ConfigError(f"`{key}` must be a mapping, not {type(value).__name__}",
                          node.loc_of(key))
    return value


def _text(node: Map, key: str) -> str:
    value = node.get(key)
    if value is None:
        return ""
    if isinstance(value, (Map, Seq)):
        kind = "mapping" if isinstance(value, Map) else "list"
        raise ConfigError(f"`{key}` must be text, not a {kind}", node.loc_of(key))
    return str(value)


def _date(value, loc: Location | None, key: str) -> str:
    if value is None or value == "":
        return ""
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ConfigError(f"{key} must be a date (YYYY-MM-DD), not {value!r}", loc) from None


# --- what a rewrite must keep ------------------------------------------------------------

def _plain(node):
    """The file's data as plain dicts, lists and scalars: what "nothing lost" compares."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _with(data: dict, path: tuple[str, ...], values: dict) -> dict:
    """`data` with the mapping at `path` set to `values` (parents made), as a new dict."""
    head, rest = path[0], path[1:]
    out = dict(data)
    if not rest:
        out[head] = dict(values)
    else:
        child = out.get(head)
        out[head] = _with(child if isinstance(child, dict) else {}, rest, values)
    return out


def _first_difference(expected, actual, where: str = "") -> str:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in list(expected) + [k for k in actual if k not in expected]:
            if expected.get(key) != actual.get(key):
                return _first_difference(expected.get(key), actual.get(key),
                                         f"{where}.{key}" if where else key)
    return f"`{where or 'the document'}`"


def _comments(text: str) -> collections.Counter:
    """Every comment of a YAML text, found between the scanner's tokens (a `#` inside a
    quoted or block scalar is text, not a comment)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    found: collections.Counter = collections.Counter()
    end = 0
    try:
        tokens = list(yaml.scan(text, Loader=loader))
    except yaml.YAMLError:
        return found
    for token in tokens:
        gap = text[end:token.start_mark.index]
        found.update(m.group(0).rstrip() for m in re.finditer(r"#[^\n]*", gap))
        end = max(end, token.end_mark.index)
    return found


# --- editing in place --------------------------------------------------------------------

_HEADER = "# Attestations, sign-offs and deployment records (labwarden). Review like code.\n"


def _edited(current: str | None, changes: list[Change]) -> str:
    """`current` with `changes` spliced in (`yamledit`): every byte outside the entries
    written stays as it was, so a review diff shows those entries and nothing else."""
    from labwarden.checklist.yamledit import EditError, set_entries

    try:      # one `{…}` line per attestation or approval; a deployment record as a block
        return set_entries(_HEADER if current is None else current, changes,
                           flow=lambda path: path[-1] != "deployment")
    except EditError as exc:
        raise ConfigError(f"not written: {exc}") from None
