"""The checklist catalog against the seed checklist it encodes.

The seed (tests/checklist/data/seed-checklist.txt, a verbatim copy of the shared seed) is
a Markdown checklist flattened to text: checkboxes are gone, inline code lost its
backticks and was broken onto its own line, and some items were run together on one line
("- Root SSH login disabled (\\nPermitRootLogin no) - SSH port changed from 22 (optional
hardening)"). `parse_seed` undoes that independently of the catalog, and the reconciliation
asserts both lists agree item by item: nothing lost, nothing invented, same order, same
subsection, same text.

How the seed is read (each rule is a property of the flattening, not of particular items):

* line 1 is a commit message; the checklist runs from "1. …" to "Approval Signatures";
* "N. Title" and "N.M Title" are section and subsection headings;
* a line ending in ":" ("Default Credentials to Check:", "TLS Testing:", …) opens an
  example block that runs to the next heading: not checklist items;
* a trailing "See: …" line is the subsection's note;
* "- " at the start of a line starts an item; within a line, " - " and ")- " do too;
* a line that does not start with "- " continues the previous item when that item is
  still open (an unclosed "(", or it ends in a word like "in"): the line is inline code;
* otherwise, a line that looks like code (a YAML key, a "#" comment, or a command with a
  flag) is a flattened code block belonging to the previous item, and the text after its
  last " - ", when that is prose, is the next item ("mem_limit: 512m mem_reservation: 256m
  - CPU limits configured");
* any other line is an item that began with inline code and so lost its "- "
  (".envfiles have restrictive permissions (600)").

Texts are compared with backticks removed together with the whitespace next to them (the
flattening dropped exactly that whitespace: ".envfiles") and runs of whitespace collapsed;
code examples are compared with all whitespace removed (the catalog re-indents them).
"""

from __future__ import annotations

import copy
import difflib
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from labwarden.checklist import catalog as catalog_module
from labwarden.checklist.catalog import (
    DEPLOYMENT_TYPES,
    CatalogError,
    load_catalog,
    rules_for_item,
)
from labwarden.model import Severity
from labwarden.rules.registry import all_rules

HERE = Path(__file__).resolve().parent
SEED = HERE / "data" / "seed-checklist.txt"
SHARED_SEED = HERE.parents[2] / "shared" / "seed" / "000_617c4d47ab1c2f14.txt"
CATALOG_YAML = Path(catalog_module.__file__).with_name("catalog.yaml")

EXPECTED_TOTAL = 225          # the seed says "Total Items: 200+"; this is the exact count
EXPECTED_PER_SECTION = {"1": 21, "2": 20, "3": 26, "4": 24, "5": 21, "6": 19, "7": 21,
                        "8": 20, "9": 19, "10": 16, "11": 18}

# Example blocks and code listings of the seed: not checklist items.
EXCLUDED_BLOCKS = (
    "Default Credentials to Check:", "SSH Hardening Verification:",
    "Secret Generation Examples:", "Port Exposure Rules:", "NPM Configuration Checklist:",
    "TLS Testing:", "Example iptables Rules:", "VLAN Assignment", "Image Scanning:",
    "Dangerous Volume Mounts to Avoid:", "Backup Job Configuration:", "PostgreSQL Encryption",
    "Docker Logging Configuration:", "Security Events to Log:", "Example Alerting Rules:",
    "NPM Custom Nginx Configuration:", "Verification:", "Documentation Requirements:",
    "Security Testing Tools:",
)

# IDs that rules and records already use: the numbering must not move under them.
ANCHORS = {
    "1.1.1": "Default credentials changed", "1.1.2": "Strong password policy",
    "1.1.4": "Root/administrator login disabled",
    "2.1.1": "No hardcoded passwords in docker-compose.yaml",
    "2.1.2": "No secrets in environment variables", "2.1.3": "(excluded from git)",
    "2.1.4": "Docker secrets used", "2.1.5": "restrictive permissions (600)",
    "3.1.1": "Only required ports exposed", "3.1.4": "Administrative ports not exposed",
    "3.1.5": "Database ports", "3.5.4": "Docker networks isolated per service stack",
    "4.1.1": "trusted registry", "4.1.2": "pinned to specific version tag",
    "4.2.1": "non-root", "4.2.2": "Read-only root filesystem", "4.2.3": "No privileged mode",
    "4.2.4": "Capabilities dropped", "4.2.5": "Security options configured",
    "4.3.1": "No root filesystem mounts", "4.3.2": "Sensitive directories not mounted",
    "4.3.3": "Docker socket not mounted", "4.3.4": "docker-socket-proxy",
    "4.3.5": "read-only where possible", "4.4.1": "Memory limits", "4.4.2": "CPU limits",
    "4.4.3": "Restart policy", "4.4.4": "Log limits", "4.5.1": "standard convention",
    "4.5.3": "does not conflict", "6.1.1": "Application logs configured",
    "6.1.6": "Log rotation configured", "8.1.2": "Configuration files added to git repository",
}

OPTIONAL_MARKER = re.compile(r"\((?:if\b|optional\b)|\bif applicable\b|^If\b")


# -- the seed parser ---------------------------------------------------------------------

SECTION = re.compile(r"^(\d{1,2})\. (\S.*)$")
SUBSECTION = re.compile(r"^(\d{1,2})\.(\d{1,2}) (\S.*)$")
BLOCK_HEADER = re.compile(r"^[A-Z][^:]*:$")
NOTE = re.compile(r"^See: \S")
CODE = re.compile(r"^(?:#|[A-Za-z_][\w-]*:(?:\s|$)|[a-z][\w.-]* \S+ -\w)")
PROSE = re.compile(r"^[A-Z][^:=#]*$")
ITEM_BOUNDARY = re.compile(r"(?<=\)) ?- | - ")
OPEN_WORDS = {"in", "of", "to", "from", "with", "via", "the", "a", "an", "and", "or", "not"}
END = "Approval Signatures"


@dataclass
class SeedItem:
    text: str = ""
    example: str = ""


@dataclass
class SeedSubsection:
    id: str
    title: str
    items: list[SeedItem] = field(default_factory=list)
    note: str | None = None


@dataclass
class SeedSection:
    id: str
    title: str
    subsections: list[SeedSubsection] = field(default_factory=list)


@dataclass
class Seed:
    sections: list[SeedSection]
    block_headers: list[str]          # the lines that opened an excluded block
    excluded: list[str]               # every line inside excluded blocks

    def items(self):
        for section in self.sections:
            for sub in section.subsections:
                for number, item in enumerate(sub.items, 1):
                    yield sub, f"{sub.id}.{number}", item


def _is_open(text: str) -> bool:
    if text.count("(") > text.count(")"):
        return True
    words = text.split()
    return bool(words) and words[-1].lower() in OPEN_WORDS


def parse_seed(raw: str) -> Seed:
    seed = Seed([], [], [])
    sub: SeedSubsection | None = None
    in_block = False
    for line in raw.splitlines()[1:]:              # line 1 is the commit message
        line = line.strip()
        if line == END:
            break
        if m := SUBSECTION.match(line):
            if seed.sections and m.group(1) == seed.sections[-1].id:
                sub = SeedSubsection(f"{m.group(1)}.{m.group(2)}", m.group(3))
                seed.sections[-1].subsections.append(sub)
                in_block = False
                continue
        if (m := SECTION.match(line)) and int(m.group(1)) == len(seed.sections) + 1:
            seed.sections.append(SeedSection(m.group(1), m.group(2)))
            sub, in_block = None, False
            continue
        if not seed.sections or not line:
            continue                               # the preamble, before "1. …"
        if in_block:
            seed.excluded.append(line)
            continue
        if sub is None:
            raise AssertionError(f"seed line outside any subsection: {line!r}")
        if NOTE.match(line):
            assert sub.note is None, f"{sub.id}: two notes"
            sub.note = line
        elif BLOCK_HEADER.match(line):
            seed.block_headers.append(line)
            seed.excluded.append(line)
            in_block = True
        else:
            _feed(sub, line)
    return seed


def _feed(sub: SeedSubsection, line: str) -> None:
    items = sub.items
    joiner = " "
    if line.startswith("- "):
        items.append(SeedItem())
        rest = line[2:]
    elif items and _is_open(items[-1].text):
        rest, joiner = line, ""                    # inline code: the flattening ate the space
    elif items and CODE.match(line):
        head, sep, tail = line.rpartition(" - ")
        code, rest = (head, tail) if sep and PROSE.match(tail) else (line, "")
        items[-1].example = f"{items[-1].example} {code}".strip()
        if not rest:
            return
        items.append(SeedItem())
    else:
        items.append(SeedItem())                   # an item that began with inline code
        rest = line
    first, *others = ITEM_BOUNDARY.split(rest)
    items[-1].text = f"{items[-1].text}{joiner}{first}" if items[-1].text else first
    items.extend(SeedItem(text) for text in others)


def text_key(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\s*`\s*", "", text)).strip()


def code_key(text: str) -> str:
    return re.sub(r"[\s`]+", "", text)


@pytest.fixture(scope="module")
def seed() -> Seed:
    return parse_seed(SEED.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def _diff(expected: list[str], actual: list[str], what: str) -> str:
    return "\n".join(difflib.unified_diff(expected, actual, f"seed {what}", f"catalog {what}",
                                          lineterm="", n=1))


# -- the seed copy -----------------------------------------------------------------------


def test_seed_copy_is_verbatim():
    if not SHARED_SEED.exists():
        pytest.skip("../shared is absent: no original seed to compare the committed copy with")
    assert SEED.read_bytes() == SHARED_SEED.read_bytes(), (
        f"{SEED} differs from {SHARED_SEED}: copy it again, byte for byte")


def test_parser_excludes_exactly_the_example_blocks(seed):
    unexpected = [h for h in seed.block_headers if not h.startswith(EXCLUDED_BLOCKS)]
    assert not unexpected, f"seed lines taken as example blocks but not known as such: {unexpected}"
    missing = [b for b in EXCLUDED_BLOCKS if not any(line.startswith(b) for line in seed.excluded)]
    assert not missing, f"known example blocks the parser did not exclude: {missing}"


# -- reconciliation ----------------------------------------------------------------------


def test_sections_present_with_seed_titles(seed, catalog):
    expected = [f"{s.id}. {s.title}" for s in seed.sections]
    actual = [f"{s.id}. {s.title}" for s in catalog.sections]
    assert len(expected) == 11
    assert actual == expected, _diff(expected, actual, "sections")


def test_subsections_match_seed(seed, catalog):
    expected = [f"{ss.id} {ss.title}" + (f" [{ss.note}]" if ss.note else "")
                for s in seed.sections for ss in s.subsections]
    actual = [f"{ss.id} {ss.title}" + (f" [{ss.note}]" if ss.note else "")
              for s in catalog.sections for ss in s.subsections]
    assert actual == expected, _diff(expected, actual, "subsections")


def test_every_seed_item_is_in_the_catalog_and_nothing_else(seed, catalog):
    expected = [f"{iid}  {text_key(item.text)}" for _, iid, item in seed.items()]
    actual = [f"{item.id}  {text_key(item.text)}" for item in catalog.items]
    assert actual == expected, (
        "catalog and seed disagree ('-' only in the seed: lost; '+' only in the catalog: "
        "invented or reworded):\n" + _diff(expected, actual, "items"))


def test_examples_are_the_seed_code_fragments(seed, catalog):
    expected = [f"{iid}  {code_key(item.example)}" for _, iid, item in seed.items()
                if item.example]
    actual = [f"{item.id}  {code_key(item.example)}" for item in catalog.items if item.example]
    assert actual == expected, _diff(expected, actual, "examples")


def test_item_count_matches_the_seed(seed, catalog):
    seed_total = sum(1 for _ in seed.items())
    assert seed_total == EXPECTED_TOTAL
    assert len(catalog) == len(catalog.items_by_id) == seed_total
    per_section = {s.id: len(s.items) for s in catalog.sections}
    assert per_section == EXPECTED_PER_SECTION
    assert "Total Items: 200+" in SEED.read_text(encoding="utf-8")
    assert catalog.template.total_items_stated == "200+" and seed_total >= 200


def test_ids_used_by_rules_keep_their_items(catalog):
    moved = {iid: (want, catalog.items_by_id[iid].text if iid in catalog.items_by_id else None)
             for iid, want in ANCHORS.items()
             if iid not in catalog.items_by_id or want not in catalog.items_by_id[iid].text}
    assert not moved, f"IDs no longer on the item they name (id: (expected, actual)): {moved}"


def test_optional_exactly_where_the_seed_marks_a_condition(catalog):
    wrong = [f"{item.id} optional={item.optional}: {item.text}" for item in catalog.items
             if item.optional != bool(OPTIONAL_MARKER.search(item.text))]
    assert not wrong, "\n".join(wrong)


def test_item_fields_are_well_formed(catalog):
    for item in catalog.items:
        assert isinstance(item.severity, Severity) and item.severity != Severity.INFO
        assert item.applies_to and set(item.applies_to) <= set(DEPLOYMENT_TYPES)
        assert item.reason and "\n" not in item.reason
        if item.example is not None:
            assert item.example == item.example.strip()
    container = [i for i in catalog.items if i.section_id == "4"]
    assert all("docker" in i.applies_to and "vm" not in i.applies_to for i in container)
    ssh = [i for i in catalog.items if i.subsection_id == "1.4"]
    assert all(set(i.applies_to) == {"vm", "lxc", "bare_metal"} for i in ssh)


# -- the record's non-item parts ---------------------------------------------------------


def _seed_lines() -> list[str]:
    return [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines()]


def _table(after: str, before: str) -> list[list[str]]:
    """The rows (cells stripped) of the Markdown table between two heading lines."""
    lines = _seed_lines()
    body = lines[lines.index(after) + 1:lines.index(before)]
    return [[c.strip() for c in line.strip("|").split("|")] for line in body
            if line.startswith("|")]


def test_service_information_matches_the_seed_table(catalog):
    header, rule, *rows = _table("Service Information", "1. Authentication & Authorization")
    assert header == ["Field", "Value"] and set(rule) == {"---"}
    expected = [(cells[0], re.findall(r"\[ \] (.+?)(?= \[ \]|$)", cells[1])) for cells in rows]
    actual = [(f.label, [c.label for c in f.choices]) for f in catalog.service_information]
    assert actual == expected
    deployment = next(f for f in catalog.service_information if f.key == "deployment_type")
    assert tuple(c.value for c in deployment.choices) == DEPLOYMENT_TYPES


def test_approvals_and_deployment_record_match_the_seed(catalog):
    header, _, *rows = _table("Approval Signatures", "Deployment Record")
    assert list(catalog.approval_columns) == header == ["Role", "Name", "Date", "Signature"]
    assert [r.label for r in catalog.approvals] == [cells[0] for cells in rows]
    lines = _seed_lines()
    for f in catalog.deployment_record:
        if f.choices:
            expected = f"{f.label}: " + " ".join(f"[ ] {c.label}" for c in f.choices)
            assert expected in lines
        else:
            assert any(line.startswith(f"{f.label}:") for line in lines), f.label
        if f.hint:
            assert lines[lines.index(f"{f.label}:") + 1] == f.hint


def test_risk_levels_match_the_seed(catalog):
    lines = _seed_lines()
    start = lines.index("Risk Level:")
    seed_levels = [line[2:] for line in lines[start + 1:start + 5]]
    assert [lv.text for lv in catalog.risk_levels] == seed_levels
    assert [lv.level for lv in catalog.risk_levels] == ["Low", "Medium", "High", "Unacceptable"]
    assert [lv.min_percent for lv in catalog.risk_levels] == [95, 85, 70, 0]


def test_template_metadata_matches_the_seed(catalog):
    t = catalog.template
    lines = _seed_lines()
    assert (f"Template Version: {t.version} Last Updated: {t.last_updated} "
            f"Maintained By: {t.maintained_by} Review Frequency: {t.review_frequency}") in lines
    assert t.title in lines
    assert f"Purpose: {t.purpose}" in lines and f"Usage: {t.usage}" in lines
    assert f"Location: {t.archive_location}" in lines and t.archive_command in lines


# -- rules -------------------------------------------------------------------------------


def test_every_rule_checklist_id_exists(catalog):
    dangling = {r.id: [i for i in r.checklist if i not in catalog.items_by_id]
                for r in all_rules()}
    dangling = {rule_id: ids for rule_id, ids in dangling.items() if ids}
    assert not dangling, f"rules name checklist items the catalog does not have: {dangling}"


def test_items_evidenced_by_rules_are_not_attestation_only(catalog):
    wrong = sorted({i for r in all_rules() for i in r.checklist
                    if i in catalog.items_by_id and not catalog.items_by_id[i].automatable})
    assert not wrong, (f"items some rule evidences but catalog.yaml marks automated_by: none "
                       f"(set the evidence kind): {wrong}")


def test_rules_for_item_is_the_reverse_of_rule_metadata(catalog):
    for r in all_rules():
        for item_id in r.checklist:
            assert r in rules_for_item(item_id)
    for item in catalog.items:
        assert all(item.id in r.checklist for r in rules_for_item(item.id))
    with pytest.raises(KeyError):
        rules_for_item("99.9.9")


# -- the loader --------------------------------------------------------------------------


def test_packaged_catalog_is_cached(catalog):
    assert load_catalog() is catalog
    assert load_catalog(CATALOG_YAML) == catalog


@functools.lru_cache(maxsize=1)
def _catalog_data() -> dict:
    return yaml.load(CATALOG_YAML.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)


def _broken(tmp_path, mutate) -> Path:
    data = copy.deepcopy(_catalog_data())
    mutate(data)
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False), encoding="utf-8")
    return path


def _items(data, sub_id):
    for section in data["sections"]:
        for sub in section["subsections"]:
            if sub["id"] == sub_id:
                return sub["items"]
    raise KeyError(sub_id)


def _set(sub_id, index, key, value):
    def mutate(data):
        _items(data, sub_id)[index][key] = value
    return mutate


def _del(sub_id, index, key=None):
    def mutate(data):
        if key is None:
            del _items(data, sub_id)[index]
        else:
            del _items(data, sub_id)[index][key]
    return mutate


@pytest.mark.parametrize("mutate, message", [
    (_set("1.1", 1, "id", "1.1.1"), r"item '1\.1\.1': duplicate item ID"),
    (_set("4.3", 2, "id", "4.2.3"), r"item '4\.2\.3': the ID's prefix does not match .*'4\.3'"),
    (_del("4.3", 1), r"item '4\.3\.3': .*contiguously from 1.*expected 4\.3\.2"),
    (_set("1.1", 0, "id", 1.1), r"item 1\.1: an item ID is a string"),
    (_set("4.3", 2, "severity", "SEVERE"), r"item '4\.3\.3': severity must be one of"),
    (_set("4.3", 2, "severity", "INFO"), r"item '4\.3\.3': severity must be one of"),
    (_set("2.1", 0, "applies_to", []), r"item '2\.1\.1': applies_to must be a non-empty list"),
    (_set("2.1", 0, "applies_to", ["k8s"]), r"item '2\.1\.1': applies_to has unknown .*k8s"),
    (_set("2.1", 0, "applies_to", ["vm", "vm"]), r"item '2\.1\.1': applies_to lists .* twice"),
    (_set("3.3", 3, "automated_by", "magic"), r"item '3\.3\.4': automated_by must be one of"),
    (_set("3.3", 3, "optional", "yes"), r"item '3\.3\.4': optional must be true or false"),
    (_set("3.3", 3, "optinal", True), r"item '3\.3\.4': unknown key\(s\) optinal"),
    (_del("3.3", 3, "reason"), r"item '3\.3\.4': missing key\(s\) reason"),
    (_set("5.1", 0, "text", "  padded"), r"item '5\.1\.1' text: stray whitespace"),
    (_set("5.1", 0, "example", ""), r"item '5\.1\.1': example must be a non-empty string"),
    (_set("3.2", 0, "text", "Service behind {revers_proxy}"),
     r"item '3\.2\.1' text: unknown placeholder \{revers_proxy\}; did you mean "
     r"\{reverse_proxy\}\?"),
    (lambda d: d["sections"].pop(1), r"section '3': .*contiguously from 1: expected '2'"),
    (lambda d: d["sections"][0]["subsections"].pop(0),
     r"subsection '1\.2': .*expected '1\.1'"),
    (lambda d: d.pop("risk_levels"), r"top level: missing key\(s\) risk_levels"),
    (lambda d: d["risk_levels"].reverse(), r"risk_levels: must be listed best first"),
])
def test_broken_catalog_is_rejected_naming_the_culprit(tmp_path, mutate, message):
    with pytest.raises(CatalogError, match=message):
        load_catalog(_broken(tmp_path, mutate))


def test_unreadable_and_invalid_yaml_are_catalog_errors(tmp_path):
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("sections: [\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid YAML"):
        load_catalog(bad)
