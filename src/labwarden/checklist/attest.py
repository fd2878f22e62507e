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

Reading uses the safe loader (with line numbers for errors); writing uses ruamel.yaml's
round-trip mode so the reviewers' comments and ordering survive every `labwarden attest`.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from dataclasses import dataclass, field

from labwarden.config import ConfigError
from labwarden.model import Location
from labwarden.sources.yamlfile import Map, YamlLoadError, load_yaml_file

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


@dataclass
class Deployment:
    date: str = ""
    method: str = ""
    status: str = ""
    issues: str = ""
    lessons: str = ""


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
        for code, message, loc in problems:
            raise ConfigError(message, loc)
        data = documents[0] if documents else Map()
        services = data.get("services") if isinstance(data, Map) else None
        if services is None:
            return
        if not isinstance(services, Map):
            raise ConfigError("`services` must be a mapping", data.loc_of("services"))
        for name, spec in services.items():
            if not isinstance(spec, Map):
                raise ConfigError(f"service {name!r} must be a mapping", services.loc_of(name))
            self.services[name] = self._service(spec)

    def _service(self, spec: Map) -> ServiceRecord:
        record = ServiceRecord()
        items = spec.get("items") or Map()
        for item_id, entry in items.items():
            loc = items.loc_of(item_id)
            if not isinstance(entry, Map) or not entry.get("by") or not entry.get("date"):
                raise ConfigError(f"attestation of {item_id} needs at least `by` and `date`", loc)
            expires = _date(entry.get("expires"), entry.loc_of("expires"), "expires")
            record.items[str(item_id)] = Attestation(
                str(item_id), str(entry["by"]), _date(entry["date"], entry.loc_of("date"), "date"),
                note=str(entry.get("note") or ""), evidence=str(entry.get("evidence") or ""),
                expires=expires, na=str(entry.get("na") or ""), location=loc)
        approvals = spec.get("approvals") or Map()
        for role, entry in approvals.items():
            if role not in ROLES:
                raise ConfigError(f"unknown approval role {role!r} (one of {', '.join(ROLES)})",
                                  approvals.loc_of(role))
            if isinstance(entry, Map) and entry.get("name"):
                record.approvals[role] = Approval(role, str(entry["name"]), _date(
                    entry.get("date"), entry.loc_of("date"), "date"))
        deployment = spec.get("deployment")
        if isinstance(deployment, Map):
            record.deployment = Deployment(**{k: str(deployment.get(k) or "")
                                              for k in ("date", "method", "status", "issues",
                                                        "lessons")})
        return record

    # --- writing ------------------------------------------------------------------------

    def attest(self, service: str, attestation: Attestation) -> None:
        entry = {"by": attestation.by, "date": attestation.date}
        for key in ("note", "evidence", "expires", "na"):
            value = getattr(attestation, key)
            if value:
                entry[key] = value
        self._write(lambda doc: _child(_child(_child(doc, "services"), service), "items")
                    .__setitem__(attestation.item_id, entry))
        self.record(service).items[attestation.item_id] = attestation
        self.services.setdefault(service, self.record(service))

    def approve(self, service: str, approval: Approval) -> None:
        self._write(lambda doc: _child(_child(_child(doc, "services"), service), "approvals")
                    .__setitem__(approval.role, {"name": approval.name, "date": approval.date}))
        self.services.setdefault(service, ServiceRecord()).approvals[approval.role] = approval

    def set_deployment(self, service: str, deployment: Deployment) -> None:
        entry = {k: v for k, v in vars(deployment).items() if v}
        self._write(lambda doc: _child(_child(doc, "services"), service)
                    .__setitem__("deployment", entry))
        self.services.setdefault(service, ServiceRecord()).deployment = deployment

    def _write(self, change) -> None:
        from ruamel.yaml import YAML  # only here: comments must survive the rewrite

        yaml = YAML()
        yaml.preserve_quotes = True
        yaml.indent(mapping=2, sequence=4, offset=2)
        if os.path.exists(self.path):
            with open(self.path, encoding="utf-8") as handle:
                document = yaml.load(handle)
        else:
            document = None
        if document is None:
            from ruamel.yaml.comments import CommentedMap

            document = CommentedMap()
            document.yaml_set_start_comment(
                "Attestations, sign-offs and deployment records (labwarden). Review like code.")
        change(document)
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".attestations.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                yaml.dump(document, handle)
            os.replace(temporary, self.path)
        except BaseException:
            os.unlink(temporary)
            raise


def _child(node, key: str):
    from ruamel.yaml.comments import CommentedMap

    if node.get(key) is None:
        node[key] = CommentedMap()
    return node[key]


def _date(value, loc: Location | None, key: str) -> str:
    if value is None or value == "":
        return ""
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ConfigError(f"{key} must be a date (YYYY-MM-DD), not {value!r}", loc) from None
