"""The operator's checklist: the seed's catalogue, in the lab's own words, with the
operator's overlay applied. `catalog_for(config, inventory)` is the one entry every
checklist command uses.

labwarden.yaml names the lab's parts the seed's texts mention (`checklist/lab.py`), and the
overlay file that changes the catalogue, relative to labwarden.yaml:

    lab:
      reverse_proxy: Traefik on proxy-01          # text, or an inventory service:
      dashboards: {service: grafana}              #   "grafana (docker-01)"
    checklist:
      overlay: checklist-overlay.yaml

The overlay renames, disables and adds items:

    rename:                                       # new text; the ID (and so the rules,
      "3.2.1": Service behind Traefik (`secure-chain@file` middleware)   # attestations and
    disable:                                      # records that name it) stays
      "3.4.1": No hypervisor here; the hosts are bare-metal Debian      # the reason: shown
    add:                                          # as N/A with it in every report
      L1:                                         # the operator's own sections: L1..L99
        title: Lab-specific controls
        subsections:
          L1.1:
            title: Remote access
            items:
              L1.1.1:
                text: Reachable only through the Tailscale ACL group `tag:lab`
                severity: HIGH                    # CRITICAL, HIGH, MEDIUM or LOW
                reason: the tailnet ACL is the lab's perimeter
                applies_to: [docker]              # default: every deployment type
                optional: false                   # default false
                automated_by: none                # the only kind: a person attests it

Added IDs start with `L` so they can never collide with the seed's, present or future
(whose IDs are digits only). Every problem is reported with the overlay's file and line, all
at once. Severities of seed items are not changed by an overlay: the risk level and the
gate rest on them; an item that does not fit the lab is disabled with its reason instead.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import os
import re
from types import MappingProxyType
from typing import Any

from labwarden.checklist import lab as lab_words
from labwarden.checklist.catalog import (DEPLOYMENT_TYPES, SEVERITIES, Catalog, Item,
                                         OverlayRef, Section, Subsection, load_catalog)
from labwarden.config import Config, ConfigError, described
from labwarden.inventory import Inventory
from labwarden.model import Location, Severity
from labwarden.sources.yamlfile import Map, Seq, YamlLoadError, load_yaml_file

OVERLAY_KEYS = ("rename", "disable", "add")
SECTION_KEYS = ("title", "subsections")
SUBSECTION_KEYS = ("title", "items")
ITEM_KEYS = ("text", "severity", "reason", "applies_to", "optional", "automated_by",
             "example")
ITEM_REQUIRED = ("text", "severity", "reason")
# The overlay's own ID range: L<section>.<subsection>.<item>, each part 1-99.
LOCAL_SECTION = re.compile(r"L[1-9]\d?")
LOCAL_SUBSECTION = re.compile(r"(L[1-9]\d?)\.[1-9]\d?")
LOCAL_ITEM = re.compile(r"(L[1-9]\d?\.[1-9]\d?)\.[1-9]\d?")
MAX_PROBLEMS_SHOWN = 20

Problems = list[tuple[str, Location | None]]


def catalog_for(config: Config, inventory: Inventory) -> Catalog:
    """The checklist for this labwarden.yaml: the seed's catalogue with the `lab:` words and
    the `checklist.overlay` applied. Problems are ConfigErrors with their file and line."""
    values = lab_values(config, inventory)
    catalog = load_catalog(lab=values)
    section = config.raw.get("checklist")
    if not isinstance(section, Map) or section.get("overlay") is None:
        return catalog
    written = section["overlay"]
    path = os.path.join(inventory.base_dir, str(written))
    if not os.path.isfile(path):
        raise ConfigError(f"checklist overlay {str(written)!r} "
                          + ("is not a file" if os.path.exists(path) else "does not exist")
                          + f" (looked for {path})", section.loc_of("overlay"))
    return apply_overlay(catalog, read_overlay(path, str(written), catalog, values),
                         seed=load_catalog())


# --- the lab's words ---------------------------------------------------------------------

def lab_values(config: Config, inventory: Inventory) -> dict[str, str]:
    """What each placeholder says for this lab: `lab:` (SCHEMA checked its keys and
    types), labwarden.yaml's records directory; the seed's words for the rest."""
    values: dict[str, str] = {}
    if config.path:
        rel = os.path.relpath(inventory.records_dir, inventory.base_dir)
        values["records_dir"] = rel.replace(os.sep, "/").rstrip("/") + "/"
    lab = config.raw.get("lab")
    if not isinstance(lab, Map):
        return values
    for key, value in lab.items():
        loc = lab.loc_of(key)
        if value is None:                   # an empty value is the same as none
            continue
        if isinstance(value, Map):
            values[key] = _service_part(key, value, inventory, loc)
        else:
            values[key] = _one_line(value, f"lab.{key}", loc)
    return values


def _service_part(key: str, spec: Map, inventory: Inventory, loc: Location | None) -> str:
    """`{service: grafana}` -> "grafana (docker-01)": the inventory knows its host."""
    name = spec.get("service")
    if name is None:
        raise ConfigError(f"`lab.{key}` needs `service:` (an inventory service), or plain "
                          "text instead of a mapping", loc)
    service = inventory.services.get(str(name))
    if service is None:
        known = sorted(inventory.services)
        close = difflib.get_close_matches(str(name), known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else \
            f" (known: {', '.join(known) or 'none'})"
        raise ConfigError(f"`lab.{key}`: no service {str(name)!r} in the inventory{hint}",
                          spec.loc_of("service"))
    shown = _one_line(spec["name"], f"lab.{key}.name", spec.loc_of("name")) \
        if spec.get("name") is not None else service.name
    return f"{shown} ({service.host.name})" if service.host is not None else shown


def _one_line(value: Any, where: str, loc: Location | None) -> str:
    """A text as it will read in an item: one line, single spaces."""
    text = " ".join(str(value).split())
    if not text:
        raise ConfigError(f"`{where}` is empty (leave the key out to keep the seed's words)",
                          loc)
    return text


# --- the overlay file --------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Overlay:
    ref: OverlayRef
    renamed: dict[str, str]                 # item ID -> new text (filled)
    disabled: dict[str, str]                # item ID -> reason
    sections: tuple[Section, ...]           # the overlay's own sections, in file order


def read_overlay(path: str, shown: str, catalog: Catalog,
                 values: dict[str, str] | None = None) -> Overlay:
    """Read and check the overlay at `path` (`shown`: as labwarden.yaml names it) against
    `catalog`; every problem is reported at once, each with its line."""
    try:
        text, documents, loader_problems = load_yaml_file(path)
    except YamlLoadError as exc:
        raise ConfigError(exc.message, exc.location) from None
    problems: Problems = [(_loader_message(code, message), loc)
                          for code, message, loc in loader_problems]
    data = documents[0] if documents else Map()
    if len(documents) > 1:
        problems.append(("the overlay is one YAML document, not several", Location(path, 1)))
    if not isinstance(data, Map):
        problems.append(("the overlay must be a mapping of rename, disable and add",
                         Location(path, 1)))
        data = Map()
    reader = _Reader(path, catalog, values or {}, problems)
    overlay = reader.overlay(data, OverlayRef(shown, _digest(text)))
    if problems:
        problems.sort(key=lambda p: p[1].line if p[1] else 0)
        shown_problems = [f"{loc}: {message}" if loc else message
                          for message, loc in problems[:MAX_PROBLEMS_SHOWN]]
        if len(problems) > MAX_PROBLEMS_SHOWN:
            shown_problems.append(f"{path}: … and {len(problems) - MAX_PROBLEMS_SHOWN} more "
                                  "problems")
        message, loc = problems[0]
        raise ConfigError(message, loc, *shown_problems[1:])
    return overlay


def _loader_message(code: str, message: str) -> str:
    if code == "duplicate-key":      # the loader's words are about Compose files
        return message.split(";")[0] + "; YAML would keep only the last: write each once"
    return message


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


class _Reader:
    def __init__(self, path: str, catalog: Catalog, values: dict[str, str],
                 problems: Problems):
        self.whole = Location(path, 1)
        self.catalog = catalog
        self.values = values
        self.problems = problems

    def problem(self, message: str, loc: Location | None) -> None:
        self.problems.append((message, loc or self.whole))

    # -- shapes

    def mapping(self, parent: Map, key: str, what: str) -> Map:
        value = parent.get(key)
        if value is None:
            return Map()
        if not isinstance(value, Map):
            self.problem(f"`{what}` must be a mapping, not {described(value)}",
                         parent.loc_of(key))
            return Map()
        return value

    def known_keys(self, data: Map, known: tuple[str, ...], where: str) -> None:
        for key in data:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"; did you mean `{close[0]}`?" if close else \
                    f" (known: {', '.join(known)})"
                self.problem(f"unknown key `{key}` in {where}{hint}", data.loc_of(key))

    def text(self, value: Any, where: str, loc: Location | None, *,
             words: bool = False) -> str | None:
        """One line of text (placeholders filled when `words`), or None after a problem."""
        if value is None or isinstance(value, (Map, Seq, bool)):
            self.problem(f"{where} must be text, not {described(value)}", loc)
            return None
        text = " ".join(str(value).split())
        if not text:
            self.problem(f"{where} is empty", loc)
            return None
        if words:
            try:
                text = lab_words.fill(text, self.values)
            except lab_words.UnknownPlaceholder as exc:
                self.problem(f"{where}: {exc}", loc)
                return None
        return text

    def seed_item(self, item_id: str, where: str, loc: Location | None) -> bool:
        if item_id in self.catalog.items_by_id:
            return True
        if LOCAL_ITEM.fullmatch(item_id):
            self.problem(f"{where} {item_id}: the overlay's own items are changed where "
                         "`add` defines them", loc)
            return False
        close = difflib.get_close_matches(item_id, list(self.catalog.items_by_id), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        self.problem(f"{where} {item_id}: no such checklist item{hint}", loc)
        return False

    # -- the file

    def overlay(self, data: Map, ref: OverlayRef) -> Overlay:
        self.known_keys(data, OVERLAY_KEYS, "the overlay")
        renamed: dict[str, str] = {}
        rename = self.mapping(data, "rename", "rename")
        for item_id, value in rename.items():
            loc = rename.loc_of(item_id)
            if self.seed_item(item_id, "rename", loc):
                text = self.text(value, f"rename {item_id}: the new text", loc, words=True)
                if text is not None:
                    renamed[item_id] = text
        disabled: dict[str, str] = {}
        disable = self.mapping(data, "disable", "disable")
        for item_id, value in disable.items():
            loc = disable.loc_of(item_id)
            if not self.seed_item(item_id, "disable", loc):
                continue
            if value is None or (isinstance(value, str) and not value.strip()):
                self.problem(f"disable {item_id}: give the reason it does not apply "
                             f"(`\"{item_id}\": why`); it is shown in every report", loc)
                continue
            reason = self.text(value, f"disable {item_id}: the reason", loc)
            if reason is not None:
                disabled[item_id] = reason
            if item_id in renamed:
                self.problem(f"{item_id} is both renamed and disabled: keep one", loc)
        add = self.mapping(data, "add", "add")
        sections = tuple(self.section(section_id, spec, add.loc_of(section_id))
                         for section_id, spec in add.items())
        return Overlay(ref, renamed, disabled, tuple(s for s in sections if s is not None))

    def section(self, section_id: str, spec: Any, loc: Location | None) -> Section | None:
        where = f"add {section_id}"
        if not LOCAL_SECTION.fullmatch(section_id):
            self.problem(f"{where}: the overlay's sections are L1 to L99 (the seed's numbers "
                         "are its own, present and future)", loc)
            return None
        if not isinstance(spec, Map):
            self.problem(f"{where} must be a mapping with title and subsections", loc)
            return None
        self.known_keys(spec, SECTION_KEYS, where)
        title = self.text(spec.get("title"), f"{where}: title", spec.loc_of("title"))
        subsections = []
        raw = self.mapping(spec, "subsections", f"{where}.subsections")
        for sub_id, sub in raw.items():
            built = self.subsection(section_id, sub_id, sub, raw.loc_of(sub_id))
            if built is not None:
                subsections.append(built)
        if not raw:
            self.problem(f"{where}: a section needs subsections with items", loc)
        if title is None or not subsections:
            return None
        return Section(section_id, title, tuple(subsections))

    def subsection(self, section_id: str, sub_id: str, spec: Any,
                   loc: Location | None) -> Subsection | None:
        where = f"add {sub_id}"
        match = LOCAL_SUBSECTION.fullmatch(sub_id)
        if match is None or match.group(1) != section_id:
            self.problem(f"{where}: subsections of {section_id} are {section_id}.1 to "
                         f"{section_id}.99", loc)
            return None
        if not isinstance(spec, Map):
            self.problem(f"{where} must be a mapping with title and items", loc)
            return None
        self.known_keys(spec, SUBSECTION_KEYS, where)
        title = self.text(spec.get("title"), f"{where}: title", spec.loc_of("title"))
        raw = self.mapping(spec, "items", f"{where}.items")
        if not raw:
            self.problem(f"{where}: a subsection needs items", loc)
        items = [self.item(sub_id, item_id, item, raw.loc_of(item_id))
                 for item_id, item in raw.items()]
        if title is None or not raw or None in items:
            return None
        return Subsection(sub_id, title, tuple(i for i in items if i is not None))

    def item(self, sub_id: str, item_id: str, spec: Any, loc: Location | None) -> Item | None:
        where = f"add {item_id}"
        match = LOCAL_ITEM.fullmatch(item_id)
        if match is None or match.group(1) != sub_id:
            self.problem(f"{where}: items of {sub_id} are {sub_id}.1 to {sub_id}.99", loc)
            return None
        if not isinstance(spec, Map):
            self.problem(f"{where} must be a mapping (text, severity, reason…)", loc)
            return None
        self.known_keys(spec, ITEM_KEYS, where)
        count = len(self.problems)
        for key in ITEM_REQUIRED:
            if spec.get(key) is None:
                self.problem(f"{where} needs `{key}`", loc)
        text = self.text(spec.get("text"), f"{where}: text", spec.loc_of("text"), words=True) \
            if "text" in spec else None
        reason = self.text(spec.get("reason"), f"{where}: reason", spec.loc_of("reason")) \
            if "reason" in spec else None
        severity = self.severity(spec, where)
        applies = self.applies_to(spec, where)
        optional = spec.get("optional", False)
        if not isinstance(optional, bool):
            self.problem(f"{where}: optional must be true or false", spec.loc_of("optional"))
        automated = spec.get("automated_by", "none")
        if automated != "none":
            self.problem(f"{where}: automated_by must be none: no rule evidences the "
                         "overlay's own items, a person attests them",
                         spec.loc_of("automated_by"))
        example = None
        if spec.get("example") is not None:
            if isinstance(spec["example"], str) and spec["example"].strip():
                example = spec["example"].strip()
            else:
                self.problem(f"{where}: example must be text", spec.loc_of("example"))
        if len(self.problems) > count or text is None or reason is None or severity is None:
            return None
        return Item(id=item_id, text=text, severity=severity, reason=reason,
                    applies_to=applies, optional=optional, automated_by="none",
                    example=example, added=True)

    def severity(self, spec: Map, where: str) -> Severity | None:
        value = spec.get("severity")
        if value is None:
            return None
        name = str(value).strip().upper()
        if name not in SEVERITIES:
            self.problem(f"{where}: severity must be one of {', '.join(SEVERITIES)}, not "
                         f"{value!r}", spec.loc_of("severity"))
            return None
        return Severity[name]

    def applies_to(self, spec: Map, where: str) -> tuple[str, ...]:
        value = spec.get("applies_to")
        if value is None:
            return DEPLOYMENT_TYPES
        loc = spec.loc_of("applies_to")
        if not isinstance(value, Seq) or not value:
            self.problem(f"{where}: applies_to must be a non-empty list of "
                         f"{', '.join(DEPLOYMENT_TYPES)}", loc)
            return DEPLOYMENT_TYPES
        kinds = [str(v) for v in value]
        bad = [k for k in kinds if k not in DEPLOYMENT_TYPES]
        if bad:
            self.problem(f"{where}: applies_to has unknown deployment type(s) "
                         f"{', '.join(bad)}; expected some of {', '.join(DEPLOYMENT_TYPES)}",
                         loc)
        elif len(set(kinds)) != len(kinds):
            self.problem(f"{where}: applies_to lists a deployment type twice", loc)
        return tuple(kinds)


# --- applying it -------------------------------------------------------------------------

def apply_overlay(catalog: Catalog, overlay: Overlay, seed: Catalog | None = None) -> Catalog:
    """`catalog` with the overlay's renames and disables on its items (same IDs, same
    place) and the overlay's sections after the seed's. A renamed item keeps the text it
    had in `seed` (the seed's own words; default: `catalog`'s) as `seed_text`."""
    seed_items = (seed or catalog).items_by_id

    def changed(item: Item) -> Item:
        if item.id in overlay.renamed:
            return dataclasses.replace(item, text=overlay.renamed[item.id],
                                       seed_text=seed_items.get(item.id, item).text)
        if item.id in overlay.disabled:
            return dataclasses.replace(item, disabled=overlay.disabled[item.id])
        return item

    sections = tuple(
        dataclasses.replace(section, subsections=tuple(
            dataclasses.replace(sub, items=tuple(changed(i) for i in sub.items))
            for sub in section.subsections))
        for section in catalog.sections) + overlay.sections
    items = {item.id: item for section in sections for item in section.items}
    return dataclasses.replace(catalog, sections=sections, items_by_id=MappingProxyType(items),
                               overlay=overlay.ref)


# --- disabled items in an evaluation ------------------------------------------------------

def disabled_note(item: Item) -> str:
    """What a disabled item's result says: every report shows it."""
    return f"disabled by the checklist overlay: {item.disabled}"
