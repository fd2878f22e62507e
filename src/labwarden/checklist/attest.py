"""Attestations, sign-offs and deployment records: what people vouched for, in a reviewable
YAML file beside labwarden.yaml (commit it; review it like code).

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

Reading uses the safe loader (with line numbers for errors) and checks a schema: an unknown
key (`expire:`), a date that is not one, a list where text belongs is an error at its line,
with a did-you-mean. Writing uses ruamel.yaml's round-trip mode so the reviewers' comments
and ordering survive every `labwarden attest`, under the file's lock (`fsio`): the change is
applied to the file as it is then, checked against the same schema, and replaced atomically.
"""

from __future__ import annotations

import datetime as dt
import difflib
import io
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from labwarden.config import ConfigError
from labwarden.model import Location
from labwarden.sources.yamlfile import Map, Seq, YamlLoadError, load_yaml_file, parse_yaml

if TYPE_CHECKING:
    from labwarden.checklist.signoff import SignedState

ROLES = ("service_owner", "security_reviewer", "infrastructure_owner")
METHODS = ("manual", "ansible", "ci_cd")
STATUSES = ("success", "failed", "rolled_back")


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

    def expired(self, today: dt.date) -> bool:
        return bool(self.expires) and dt.date.fromisoformat(self.expires) < today


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


class AttestationBook:
    def __init__(self, path: str):
        self.path = path
        self.services: dict[str, ServiceRecord] = {}
        if os.path.exists(path):
            self._load()

    def record(self, service: str) -> ServiceRecord:
        return self.services.get(service) or ServiceRecord()

    # --- reading ------------------------------------------------------------------------

    def _load(self) -> None:
        try:
            _, documents, problems = load_yaml_file(self.path)
        except YamlLoadError as exc:
            raise ConfigError(exc.message, exc.location) from None
        self._parse(documents, problems)

    def _parse(self, documents, problems) -> None:
        for _code, message, loc in problems:
            raise ConfigError(message, loc)
        self.services = {}
        data = documents[0] if documents else Map()
        if not isinstance(data, Map):
            raise ConfigError("the attestation file must be a mapping with `services:`",
                              Location(self.path, 1))
        _known_keys(data, _TOP_KEYS, "the attestation file")
        services = data.get("services")
        if services is None:
            return
        if not isinstance(services, Map):
            raise ConfigError("`services` must be a mapping", data.loc_of("services"))
        for name, spec in services.items():
            if not isinstance(spec, Map):
                raise ConfigError(f"service {name!r} must be a mapping", services.loc_of(name))
            _known_keys(spec, _SERVICE_KEYS, f"service {name!r}")
            self.services[str(name)] = self._service(spec)

    def _service(self, spec: Map) -> ServiceRecord:
        record = ServiceRecord()
        items = _mapping(spec, "items")
        for item_id, entry in items.items():
            record.items[str(item_id)] = _attestation(str(item_id), entry, items.loc_of(item_id))
        approvals = _mapping(spec, "approvals")
        for role, entry in approvals.items():
            if role not in ROLES:
                raise ConfigError(f"unknown approval role {role!r}{_did_you_mean(role, ROLES)}"
                                  f" (one of {', '.join(ROLES)})", approvals.loc_of(role))
            record.approvals[role] = _approval(role, entry, approvals.loc_of(role))
        if spec.get("deployment") is not None:
            record.deployment = _deployment(_mapping(spec, "deployment"))
        return record

    # --- writing ------------------------------------------------------------------------

    def attest(self, service: str, attestation: Attestation) -> None:
        entry = {"by": attestation.by, "date": attestation.date}
        for key in ("note", "evidence", "expires", "na"):
            value = getattr(attestation, key)
            if value:
                entry[key] = value
        self._write(lambda doc: _put(_child(_child(_child(doc, "services"), service),
                                            "items"), _quoted(attestation.item_id), entry))

    def approve(self, service: str, approval: Approval) -> None:
        entry = {"name": approval.name, "date": approval.date}
        if approval.state is not None:
            entry["state"] = _flow(approval.state.as_yaml())
        self._write(lambda doc: _put(_child(_child(_child(doc, "services"), service),
                                            "approvals"), approval.role, entry))

    def set_deployment(self, service: str, deployment: Deployment) -> None:
        entry = {k: v for k, v in vars(deployment).items() if v}
        self._write(lambda doc: _put(_child(_child(doc, "services"), service), "deployment",
                                     entry))

    def _write(self, change) -> None:
        """Apply `change` to the file as it is now (under its lock: a parallel `attest` is
        never lost), check the result as `_load` will read it, and replace it atomically."""
        from labwarden import fsio

        target = fsio.inside(os.path.dirname(os.path.abspath(self.path)), self.path)
        os.makedirs(os.path.dirname(target), exist_ok=True)

        def edit(current: str | None) -> str:
            if current is not None:
                self._parse_text(current)             # never build on a file that is wrong
            text = _round_trip(current, change)
            try:
                self._parse_text(text)
            except ConfigError as exc:
                raise ConfigError(f"{self.path}: not written, the result would be invalid "
                                  f"({exc})") from None
            return text

        try:
            fsio.update(target, edit)
        except fsio.WriteRefused as exc:
            raise ConfigError(str(exc)) from None

    def _parse_text(self, text: str) -> None:
        try:
            documents, problems = parse_yaml(text, self.path)
        except YamlLoadError as exc:
            raise ConfigError(exc.message, exc.location) from None
        self._parse(documents, problems)


_TOP_KEYS = ("services",)
_SERVICE_KEYS = ("items", "approvals", "deployment")
_ITEM_KEYS = ("by", "date", "note", "evidence", "expires", "na")
_APPROVAL_KEYS = ("name", "date", "state")
_DEPLOYMENT_KEYS = ("date", "method", "status", "issues", "lessons", "override")


def _attestation(item_id: str, entry, loc: Location | None) -> Attestation:
    if not isinstance(entry, Map):
        raise ConfigError(f"attestation of {item_id} must be a mapping (by, date, note…)", loc)
    _known_keys(entry, _ITEM_KEYS, f"attestation of {item_id}")
    if not entry.get("by") or not entry.get("date"):
        raise ConfigError(f"attestation of {item_id} needs at least `by` and `date`", loc)
    return Attestation(item_id, _text(entry, "by"), _date(entry["date"], entry.loc_of("date"),
                                                          "date"),
                       note=_text(entry, "note"), evidence=_text(entry, "evidence"),
                       expires=_date(entry.get("expires"), entry.loc_of("expires"), "expires"),
                       na=_text(entry, "na"), location=loc)


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


def _did_you_mean(key, known) -> str:
    close = difflib.get_close_matches(str(key), known, n=1)
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


# --- round-trip editing ------------------------------------------------------------------

def _round_trip(current: str | None, change) -> str:
    """`current` with `change` applied to its ruamel.yaml round-trip tree: the reviewers'
    comments, ordering and flow or block layout survive."""
    from ruamel.yaml import YAML  # only here: comments must survive the rewrite
    from ruamel.yaml.comments import CommentedMap

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    # Never fold a line: folding a plain scalar inside a `{…}` entry produced YAML that
    # neither PyYAML nor labwarden could read back.
    yaml.width = 1 << 30
    document = yaml.load(current) if current else None
    if document is None:
        document = CommentedMap()
        document.yaml_set_start_comment(
            "Attestations, sign-offs and deployment records (labwarden). Review like code.")
    change(document)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def _child(node, key: str):
    from ruamel.yaml.comments import CommentedMap

    if node.get(key) is None:
        node[key] = CommentedMap()
    return node[key]


def _put(node, key: str, values: dict) -> None:
    """Set `node[key]` to `values`, written the way its siblings are (one `{…}` line each
    in a file written by hand that way), dates unquoted as a person would write them."""
    from ruamel.yaml.comments import CommentedMap

    entry = CommentedMap((k, _date_or_text(k, v)) for k, v in values.items())
    siblings = [v for k, v in node.items() if k != key and isinstance(v, CommentedMap)]
    if siblings and siblings[-1].fa.flow_style():
        entry.fa.set_flow_style()
    node[key] = entry


def _flow(values: dict):
    """A nested mapping written on its entry's line (`state: {risk: "High", failing: ["4.2.3"]}`),
    text quoted: an item ID "10.1" or a fingerprint "012345670123" is never read back as a
    number."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    entry = CommentedMap()
    for key, value in values.items():
        if isinstance(value, list):
            value = CommentedSeq(DoubleQuotedScalarString(str(v)) for v in value)
            value.fa.set_flow_style()
        entry[key] = DoubleQuotedScalarString(value) if isinstance(value, str) else value
    entry.fa.set_flow_style()
    return entry


def _quoted(item_id: str):
    """An item ID as people write it, `"1.2.1"`: never read as a number (`"10.1"`)."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    return DoubleQuotedScalarString(item_id)


def _date_or_text(key: str, value):
    return dt.date.fromisoformat(value) if key in ("date", "expires") and value else value


def _date(value, loc: Location | None, key: str) -> str:
    if value is None or value == "":
        return ""
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ConfigError(f"{key} must be a date (YYYY-MM-DD), not {value!r}", loc) from None
