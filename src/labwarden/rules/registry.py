"""The rule registry: the `@rule` decorator, metadata validation, and the table of all rules.

A rule is a small pure function from one fact (a Compose service, a project, an env file…)
to `Hit`s. Its metadata travels with it and is validated when the rule loads, so a rule
with a malformed ID, a missing doc section or a duplicate name fails at import, not in a
report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from labwarden.model import Hit, Impact, Rule, RuleDoc, Severity
from labwarden.sources.registry import RULE_ID, rule_modules

RULE_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
CHECKLIST_ITEM = re.compile(r"^\d{1,2}\.\d{1,2}\.\d{1,2}$")
DOC_HEADINGS = ("Why it matters:", "Example:", "Fix:")

_RULES: dict[str, Rule] = {}
_BY_NAME: dict[str, Rule] = {}


class RuleDefinitionError(Exception):
    pass


def cleandoc(doc: str) -> str:
    """What `inspect.cleandoc(doc)` gives (a test holds it to that), without importing
    `inspect`: with the `ast`, `dis` and `tokenize` it imports, a tenth of the start-up of
    `labwarden audit` on one file, which reads every rule's docstring when the rules load.
    The first line loses its leading whitespace, the others the indentation they share;
    blank lines at either end go."""
    lines = doc.expandtabs().split("\n")
    margin = min((len(line) - len(line.lstrip()) for line in lines[1:] if line.lstrip()),
                 default=None)
    lines[0] = lines[0].lstrip()
    if margin is not None:
        lines[1:] = [line[margin:] for line in lines[1:]]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return "\n".join(lines)


def parse_doc(rule_id: str, docstring: str | None) -> RuleDoc:
    """Split a docstring into the fixed headings: a summary, then Why it matters / Example / Fix."""
    text = cleandoc(docstring or "")
    positions = []
    for heading in DOC_HEADINGS:
        match = re.search(rf"^{re.escape(heading)}[ \t]*$", text, re.M)
        if not match:
            raise RuleDefinitionError(f"{rule_id}: docstring lacks the heading {heading!r}")
        positions.append((match.start(), match.end()))
    starts = [p[0] for p in positions] + [len(text)]
    if starts[:-1] != sorted(starts[:-1]):
        raise RuleDefinitionError(f"{rule_id}: doc headings must come in the order {DOC_HEADINGS}")
    what = text[: positions[0][0]].strip()
    sections = [cleandoc(text[positions[i][1]: starts[i + 1]]) for i in range(3)]
    if not what or not all(sections):
        raise RuleDefinitionError(f"{rule_id}: every doc section needs text")
    return RuleDoc(what=what, why=sections[0], example=sections[1], fix=sections[2])


def rule(rule_id: str, name: str, severity: Severity, *, title: str, on: type,
         checklist: Iterable[str] = (), refs: Iterable[str] = (),
         impact: Impact = Impact()) -> Callable:
    """Register a rule. `on` is the fact type the rule is called with; its findings fail
    the `checklist` items (the rule can disprove them). Which of them it can also prove is
    said by its provers (`@prover`)."""

    def register(check: Callable[..., Iterable[Hit]]) -> Callable:
        if not RULE_ID.match(rule_id):
            raise RuleDefinitionError(f"{rule_id}: IDs are an area prefix and three digits")
        if not RULE_NAME.match(name):
            raise RuleDefinitionError(f"{rule_id}: name {name!r} is not kebab-case")
        if rule_id in _RULES or name in _BY_NAME:
            raise RuleDefinitionError(f"{rule_id}/{name}: registered twice")
        if not isinstance(severity, Severity):
            raise RuleDefinitionError(f"{rule_id}: severity must be a Severity")
        items = tuple(checklist)
        bad = [i for i in items if not CHECKLIST_ITEM.match(i)]
        if bad:
            raise RuleDefinitionError(f"{rule_id}: malformed checklist items {bad}")
        lo, hi = impact.downtime_min
        if not 0 <= lo <= hi:
            raise RuleDefinitionError(f"{rule_id}: downtime range must be 0 <= low <= high")
        meta = Rule(id=rule_id, name=name, severity=severity, title=title, fact=on,
                    check=check, doc=parse_doc(rule_id, check.__doc__), checklist=items,
                    refs=tuple(refs), impact=impact)
        _RULES[rule_id] = meta
        _BY_NAME[name] = meta
        check.rule = meta  # type: ignore[attr-defined]  # a function takes attributes
        return check

    return register


# -- provers: the positive side of a rule's checklist link --------------------------------

Prover = Callable[..., "str | None"]
_PROVERS: dict[type, list[tuple[Rule, tuple[str, ...], Prover]]] = {}


def prover(rule_id: str, *items: str) -> Callable[[Prover], Prover]:
    """Register what shows that `items` of a rule hold: a function (fact, settings) that
    returns a short note of the evidence when the fact positively shows it ("cap_drop:
    [ALL]", "PermitRootLogin no"), and None when it does not or cannot tell (a fact it could
    not read completely, a case it does not know). A rule's silence is never proof by
    itself: a rule that bails out on what it cannot judge finds nothing either.

    Declared below its rule, in the rule's module, so both read the fact through the same
    helpers; an item must be one the rule can also fail (its `checklist`)."""

    def register(function: Prover) -> Prover:
        meta = _RULES.get(rule_id)
        if meta is None:
            raise RuleDefinitionError(f"prover {function.__name__}: no rule {rule_id} "
                                      "registered before it")
        stray = [i for i in items if i not in meta.checklist]
        if not items or stray:
            raise RuleDefinitionError(f"{rule_id}: a prover's items must be some of its "
                                      f"checklist {list(meta.checklist)}, got {list(items)}")
        proven = tuple(dict.fromkeys(meta.proves + items))
        updated = Rule(id=meta.id, name=meta.name, severity=meta.severity, title=meta.title,
                       fact=meta.fact, check=meta.check, doc=meta.doc,
                       checklist=meta.checklist, refs=meta.refs, impact=meta.impact,
                       proves=proven)
        _RULES[rule_id] = _BY_NAME[meta.name] = updated
        meta.check.rule = updated  # type: ignore[attr-defined]
        _PROVERS.setdefault(meta.fact, []).append((updated, items, function))
        return function

    return register


def provers_for(fact_type: type) -> list[tuple[Rule, tuple[str, ...], Prover]]:
    """(rule, items, prover) for every prover of `fact_type`'s rules."""
    load(rule_modules(fact_type))
    return [(_RULES[rule.id], items, fn) for rule, items, fn in _PROVERS.get(fact_type, ())]


def all_rules() -> list[Rule]:
    load()
    return sorted(_RULES.values(), key=lambda r: r.id)


def get(ref: str) -> Rule | None:
    """A rule by ID (case-insensitive) or by name."""
    found = _RULES.get(ref.upper()) or _BY_NAME.get(ref.lower())
    if found is None:
        load()
        found = _RULES.get(ref.upper()) or _BY_NAME.get(ref.lower())
    return found


def rule_id(ref: str) -> str | None:
    """The ID of the rule `ref` names, as `get(ref).id`, from the table of IDs and names
    (`rules._index`) rather than by importing every rule module; a reference the table does
    not know is looked up as `get` looks it up."""
    from labwarden.rules._index import RULES

    upper = ref.upper()
    if upper in RULES:
        return upper
    global _index_by_name
    if _index_by_name is None:
        _index_by_name = {name: id_ for id_, name in RULES.items()}
    found_id = _index_by_name.get(ref.lower())
    if found_id is not None:
        return found_id
    found = get(ref)
    return None if found is None else found.id


_index_by_name: dict[str, str] | None = None


def rules_for(fact_type: type) -> list[Rule]:
    """The rules that judge `fact_type`, importing only the rule modules of its source."""
    load(rule_modules(fact_type))
    return sorted((r for r in _RULES.values() if r.fact is fact_type), key=lambda r: r.id)


_loaded: set[str] = set()


def load(modules: tuple[str, ...] | None = None) -> None:
    """Import the rule modules named (None: every source's) once; each module registers its
    rules at import."""
    from importlib import import_module

    for module in rule_modules() if modules is None else modules:
        if module not in _loaded:
            _loaded.add(module)
            import_module(f"labwarden.rules.{module}")
