"""The pre-deployment checklist as data: `catalog.yaml`, loaded and validated once.

Every item of the seed checklist has a stable ID ("4.3.2": section 4, subsection 3, item 2
in seed order), its text, a severity with the reason for it, the deployment types it
applies to, whether the seed marks it conditional, and the kind of evidence that can answer
it automatically. Which rules evidence an item is not stored here: each rule lists its
items in its own metadata (`Rule.checklist`), and `rules_for_item` computes the reverse.

The file also carries the seed's non-item parts that an archived record reproduces: the
template metadata, the Service Information fields, the approval roles, the deployment
record fields and the risk levels.

Texts that name one lab's parts are templates: `Service behind {reverse_proxy}`. Item texts,
subsection notes and the template metadata are filled when the file loads, from the `lab`
values given (`labwarden.yaml`'s `lab:`) or else the seed's own words (`checklist/lab.py`),
so `load_catalog()` reads exactly as the seed. The operator's overlay (renamed, added and
disabled items) is applied on top by `checklist/overlay.py`: `catalog_for()` is what the
commands use.

A malformed catalog raises `CatalogError` naming the offending item, at load.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import yaml

from labwarden.checklist import lab as lab_words
from labwarden.model import Rule, Severity
from labwarden.sources.registry import EVIDENCE_KINDS

DEPLOYMENT_TYPES = ("vm", "lxc", "docker", "bare_metal")
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW")   # INFO is for findings, not items

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SECTION_ID = re.compile(r"^[1-9]\d?$")
_ITEM_KEYS = {"id", "text", "example", "severity", "reason", "applies_to", "optional",
              "automated_by", "code"}
_ITEM_REQUIRED = _ITEM_KEYS - {"example", "code"}
_TOP_KEYS = {"template", "service_information", "approvals", "deployment_record",
             "risk_levels", "sections"}
_TEMPLATE_KEYS = ("title", "purpose", "usage", "version", "last_updated", "maintained_by",
                  "review_frequency", "total_items_stated", "archive_location",
                  "archive_command")


class CatalogError(Exception):
    """The catalog file is malformed; the message names the section, subsection or item."""


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    text: str
    severity: Severity
    reason: str
    applies_to: tuple[str, ...]
    optional: bool
    automated_by: str
    example: str | None = None
    # About the application's own code (input validation, API auth design, secret
    # generation inside the app): N/A for third-party software the operator runs.
    code: bool = False
    # Set by the operator's overlay (checklist/overlay.py), never by catalog.yaml:
    disabled: str = ""               # why the item is disabled: it is N/A with this reason
    seed_text: str | None = None     # the seed's text, when the overlay renamed the item
    added: bool = False              # the item is the overlay's own, not the seed's

    @property
    def section_id(self) -> str:
        return self.id.split(".")[0]

    @property
    def subsection_id(self) -> str:
        return self.id.rsplit(".", 1)[0]

    @property
    def automatable(self) -> bool:
        return self.automated_by != "none"

    def applies(self, deployment_type: str) -> bool:
        return deployment_type in self.applies_to


@dataclass(frozen=True, slots=True)
class Subsection:
    id: str
    title: str
    items: tuple[Item, ...]
    note: str | None = None          # a trailing "See: …" reference in the seed


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    title: str
    subsections: tuple[Subsection, ...]

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for sub in self.subsections for item in sub.items)


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class FormField:
    """A field of the record's forms (Service Information, approvals, deployment record)."""

    key: str
    label: str
    choices: tuple[Choice, ...] = ()
    hint: str = ""


@dataclass(frozen=True, slots=True)
class RiskLevel:
    """A level applies at `min_percent` completion or more when every applicable item of
    the `requires_complete` severities is complete; levels are listed best first."""

    level: str
    text: str
    min_percent: int
    requires_complete: tuple[Severity, ...]


@dataclass(frozen=True, slots=True)
class Template:
    title: str
    purpose: str
    usage: str
    version: str
    last_updated: str
    maintained_by: str
    review_frequency: str
    total_items_stated: str
    archive_location: str
    archive_command: str


@dataclass(frozen=True, slots=True)
class OverlayRef:
    """The overlay a catalogue was built with: its path as labwarden.yaml names it, and the
    first 12 hex digits of the SHA-256 of its text."""

    path: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Catalog:
    sections: tuple[Section, ...]
    items_by_id: Mapping[str, Item]
    template: Template
    service_information: tuple[FormField, ...]
    approvals: tuple[FormField, ...]
    approval_columns: tuple[str, ...]
    deployment_record: tuple[FormField, ...]
    risk_levels: tuple[RiskLevel, ...]
    # Which catalogue this is ("seed checklist 1.0 (sha256 …)") and which overlay was applied:
    # every score names them (`origin`), so two scores can be told apart.
    base: str = field(default="", compare=False)
    overlay: OverlayRef | None = field(default=None, compare=False)

    @property
    def origin(self) -> str:
        if self.overlay is None:
            return self.base
        return f"{self.base} + overlay {self.overlay.path} (sha256 {self.overlay.sha256})"

    @property
    def items(self) -> tuple[Item, ...]:
        """Every item, in seed order."""
        return tuple(self.items_by_id.values())

    def item(self, item_id: str) -> Item:
        try:
            return self.items_by_id[item_id]
        except KeyError:
            raise KeyError(f"no checklist item {item_id!r}") from None

    def section(self, section_id: str) -> Section:
        for section in self.sections:
            if section.id == section_id:
                return section
        raise KeyError(f"no checklist section {section_id!r}")

    def __len__(self) -> int:
        return len(self.items_by_id)


def load_catalog(path: str | Path | None = None, *,
                 lab: Mapping[str, str] | None = None) -> Catalog:
    """The packaged catalog (parsed once, then cached), or the catalog file at `path`, its
    placeholders filled from `lab` (name -> text) or else with the seed's words."""
    values = tuple(sorted((lab or {}).items()))
    if path is None:
        return _packaged_catalog(values)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read the catalog: {exc.strerror}") from None
    return parse_catalog(text, str(path), dict(values))


@functools.lru_cache(maxsize=8)
def _packaged_catalog(values: tuple[tuple[str, str], ...] = ()) -> Catalog:
    resource = resources.files("labwarden.checklist").joinpath("catalog.yaml")
    text = resource.read_text(encoding="utf-8")
    return parse_catalog(text, "labwarden/checklist/catalog.yaml", dict(values),
                         name="seed checklist")


def rules_for_item(item_id: str) -> tuple[Rule, ...]:
    """The registered rules whose metadata lists `item_id`, ordered by rule ID."""
    load_catalog().item(item_id)       # KeyError for an ID the checklist does not have
    from labwarden.rules.registry import all_rules

    return tuple(r for r in all_rules() if item_id in r.checklist)


# -- parsing and validation --------------------------------------------------------------


def parse_catalog(text: str, origin: str = "<catalog>", lab: Mapping[str, str] | None = None,
                  name: str | None = None) -> Catalog:
    """The catalog in `text`; `name` is what scores call it (default: "catalog ORIGIN"),
    followed by its template version and a digest of the text."""
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{origin}: not valid YAML: {exc}") from None
    catalog = _Builder(origin, lab or {}).catalog(data)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    return dataclasses.replace(catalog, base=f"{name or f'catalog {origin}'} "
                                             f"{catalog.template.version} (sha256 {digest})")


class _Builder:
    def __init__(self, origin: str, lab: Mapping[str, str]):
        self.origin = origin
        self.lab = lab

    def fail(self, where: str, message: str) -> CatalogError:
        return CatalogError(f"{self.origin}: {where}: {message}")

    # -- helpers

    def mapping(self, value: Any, where: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping, got {type(value).__name__}")
        return value

    def sequence(self, value: Any, where: str, *, empty: bool = False) -> list:
        if not isinstance(value, list) or (not value and not empty):
            raise self.fail(where, "expected a non-empty list" if not empty else "expected a list")
        return value

    def string(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, "expected a non-empty string")
        if value != value.strip() or "  " in value or "\n" in value or "\t" in value:
            raise self.fail(where, f"stray whitespace in {value!r}")
        return value

    def words(self, value: Any, where: str) -> str:
        """A text that may name the lab's parts (`{reverse_proxy}`), filled."""
        template = self.string(value, where)
        try:
            return self.string(lab_words.fill(template, self.lab), where)
        except lab_words.UnknownPlaceholder as exc:
            raise self.fail(where, str(exc)) from None

    def keys(self, data: dict, where: str, allowed: set, required: set) -> None:
        unknown = sorted(set(data) - allowed, key=str)
        if unknown:
            raise self.fail(where, f"unknown key(s) {', '.join(map(str, unknown))}")
        missing = sorted(required - set(data))
        if missing:
            raise self.fail(where, f"missing key(s) {', '.join(missing)}")

    # -- the file

    def catalog(self, data: Any) -> Catalog:
        data = self.mapping(data, "top level")
        self.keys(data, "top level", _TOP_KEYS, _TOP_KEYS)
        sections = self.sections(data["sections"])
        items = {item.id: item for section in sections for item in section.items}
        return Catalog(
            sections=sections,
            items_by_id=MappingProxyType(items),
            template=self.template(data["template"]),
            service_information=self.form(data["service_information"], "service_information",
                                          "fields"),
            approvals=self.form(data["approvals"], "approvals", "roles"),
            approval_columns=self.columns(data["approvals"], "approvals"),
            deployment_record=self.form(data["deployment_record"], "deployment_record",
                                        "fields"),
            risk_levels=self.risk_levels(data["risk_levels"]),
        )

    def template(self, data: Any) -> Template:
        data = self.mapping(data, "template")
        self.keys(data, "template", set(_TEMPLATE_KEYS), set(_TEMPLATE_KEYS))
        return Template(**{k: self.words(data[k], f"template.{k}") for k in _TEMPLATE_KEYS})

    def form(self, data: Any, where: str, list_key: str) -> tuple[FormField, ...]:
        data = self.mapping(data, where)
        self.keys(data, where, {"heading", "columns", list_key}, {"heading", list_key})
        self.string(data["heading"], f"{where}.heading")
        fields, seen = [], set()
        for raw in self.sequence(data[list_key], f"{where}.{list_key}"):
            raw = self.mapping(raw, f"{where}.{list_key}")
            key = self.string(raw.get("key"), f"{where}.{list_key} key")
            here = f"{where}.{key}"
            if key in seen:
                raise self.fail(here, "duplicate key")
            seen.add(key)
            self.keys(raw, here, {"key", "label", "choices", "hint"}, {"key", "label"})
            choices = tuple(
                Choice(self.string(c.get("value"), f"{here} choice value"),
                       self.string(c.get("label"), f"{here} choice label"))
                for c in (self.mapping(c, f"{here} choice")
                          for c in self.sequence(raw.get("choices", []), here, empty=True)))
            fields.append(FormField(key, self.string(raw["label"], f"{here}.label"), choices,
                                    self.string(raw["hint"], f"{here}.hint")
                                    if "hint" in raw else ""))
        return tuple(fields)

    def columns(self, data: dict, where: str) -> tuple[str, ...]:
        raw = self.sequence(data.get("columns"), f"{where}.columns")
        return tuple(self.string(c, f"{where}.columns") for c in raw)

    def risk_levels(self, data: Any) -> tuple[RiskLevel, ...]:
        levels = []
        for raw in self.sequence(data, "risk_levels"):
            raw = self.mapping(raw, "risk_levels")
            name = self.string(raw.get("level"), "risk level name")
            here = f"risk level {name}"
            self.keys(raw, here, {"level", "text", "min_percent", "requires_complete"},
                      {"level", "text", "min_percent", "requires_complete"})
            pct = raw["min_percent"]
            if not isinstance(pct, int) or isinstance(pct, bool) or not 0 <= pct <= 100:
                raise self.fail(here, f"min_percent must be an integer 0-100, got {pct!r}")
            required = tuple(self.severity(s, here)
                             for s in self.sequence(raw["requires_complete"], here, empty=True))
            levels.append(RiskLevel(name, self.string(raw["text"], f"{here}.text"), pct, required))
        percents = [lv.min_percent for lv in levels]
        if percents != sorted(percents, reverse=True) or percents[-1] != 0:
            raise self.fail("risk_levels", "must be listed best first, the last at min_percent 0")
        return tuple(levels)

    def severity(self, value: Any, where: str) -> Severity:
        if value not in SEVERITIES:
            raise self.fail(where, f"severity must be one of {', '.join(SEVERITIES)}, "
                                   f"got {value!r}")
        return Severity[value]

    # -- sections, subsections, items

    def sections(self, data: Any) -> tuple[Section, ...]:
        sections = []
        for number, raw in enumerate(self.sequence(data, "sections"), 1):
            raw = self.mapping(raw, f"section #{number}")
            sid = raw.get("id")
            where = f"section {sid!r}"
            if not isinstance(sid, str) or not _SECTION_ID.match(sid):
                raise self.fail(where, 'a section ID is its number as a string ("4")')
            if sid != str(number):
                raise self.fail(where, f"sections must be numbered contiguously from 1: "
                                       f"expected {str(number)!r}")
            self.keys(raw, where, {"id", "title", "subsections"}, {"id", "title", "subsections"})
            subs = tuple(self.subsection(s, sid, n)
                         for n, s in enumerate(self.sequence(raw["subsections"], where), 1))
            sections.append(Section(sid, self.string(raw["title"], f"{where} title"), subs))
        return tuple(sections)

    def subsection(self, raw: Any, section_id: str, number: int) -> Subsection:
        raw = self.mapping(raw, f"subsection #{number} of section {section_id}")
        sid = raw.get("id")
        where = f"subsection {sid!r}"
        expected = f"{section_id}.{number}"
        if sid != expected:
            raise self.fail(where, f"subsection IDs must be the section ID and a number "
                                   f"contiguous from 1: expected {expected!r}")
        self.keys(raw, where, {"id", "title", "note", "items"}, {"id", "title", "items"})
        seen: set[str] = set()
        items = tuple(self.item(i, sid, n, seen)
                      for n, i in enumerate(self.sequence(raw["items"], where), 1))
        note = self.words(raw["note"], f"{where} note") if "note" in raw else None
        return Subsection(sid, self.string(raw["title"], f"{where} title"), items, note)

    def item(self, raw: Any, subsection_id: str, number: int, seen: set[str]) -> Item:
        raw = self.mapping(raw, f"item #{number} of subsection {subsection_id}")
        iid = raw.get("id")
        where = f"item {iid!r}"
        if not isinstance(iid, str):
            raise self.fail(where, 'an item ID is a string ("4.3.2")')
        if iid in seen:
            raise self.fail(where, "duplicate item ID")
        seen.add(iid)
        prefix, _, tail = iid.rpartition(".")
        if prefix != subsection_id:
            raise self.fail(where, f"the ID's prefix does not match its subsection "
                                   f"{subsection_id!r}")
        if tail != str(number):
            raise self.fail(where, f"items must be numbered contiguously from 1 in their "
                                   f"subsection: expected {subsection_id}.{number}")
        self.keys(raw, where, _ITEM_KEYS, _ITEM_REQUIRED)
        applies = raw["applies_to"]
        if not isinstance(applies, list) or not applies:
            raise self.fail(where, "applies_to must be a non-empty list")
        bad = [a for a in applies if a not in DEPLOYMENT_TYPES]
        if bad:
            raise self.fail(where, f"applies_to has unknown deployment type(s) {bad}; "
                                   f"expected some of {', '.join(DEPLOYMENT_TYPES)}")
        if len(set(applies)) != len(applies):
            raise self.fail(where, "applies_to lists a deployment type twice")
        if raw["automated_by"] not in EVIDENCE_KINDS:   # the source table's
            raise self.fail(where, f"automated_by must be one of {', '.join(EVIDENCE_KINDS)}, "
                                   f"got {raw['automated_by']!r}")
        if not isinstance(raw["optional"], bool):
            raise self.fail(where, f"optional must be true or false, got {raw['optional']!r}")
        if not isinstance(raw.get("code", False), bool):
            raise self.fail(where, f"code must be true or false, got {raw['code']!r}")
        example = raw.get("example")
        if example is not None and (not isinstance(example, str) or not example.strip()):
            raise self.fail(where, "example must be a non-empty string when present")
        return Item(
            id=iid,
            text=self.words(raw["text"], f"{where} text"),
            severity=self.severity(raw["severity"], where),
            reason=self.string(raw["reason"], f"{where} reason"),
            applies_to=tuple(applies),
            optional=raw["optional"],
            automated_by=raw["automated_by"],
            example=example,
            code=raw.get("code", False),
        )
