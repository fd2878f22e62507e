"""The JSON report: a versioned document for scripts and dashboards.

The shape is fixed by `schema/report-v1.schema.json` (JSON Schema 2020-12), shipped with the
package. Additive changes keep schema_version 1.x; anything that renames or removes a field
bumps the major version.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring

from labwarden._record import set_frozen
from labwarden.model import AuditResult, Diagnostic, Finding, Location, Severity, Suppression
from labwarden.report._common import SEVERITIES, diagnostics_by_level, rule_fix, tool_version
from labwarden.report.escape import json_text
from labwarden.report.subject import project_service

TYPE_CHECKING = False       # typing stays off the start-up path
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

SCHEMA_VERSION = "1.1"   # 1.1: each finding's "project" and "service"
SCHEMA_RESOURCE = "schema/report-v1.schema.json"   # inside the labwarden.report package


# One encoder, configured once: what `json.dumps(..., ensure_ascii=False,
# separators=(",", ":"))` would build on every call. Compact, so the C encoder is used.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _string(text: str) -> str:
    """`text` as a JSON string, the way the encoder writes it (its C function), with the
    characters `escape.json_text` writes as `\\uNNNN`: checked string by string, where an
    ASCII test in C clears nearly all of them, rather than over the whole document."""
    encoded = encode_basestring(text)
    # DEL is ASCII too, and among those characters.
    return encoded if text.isascii() and "\x7f" not in text else json_text(encoded)


def _encode(value: object) -> str:
    """Any other value as JSON, escaped as `_string` escapes."""
    return json_text(_ENCODER.encode(value))


class _Strings(dict):
    """`_string` of each text, remembered for one report: a finding's path, asset,
    resource, message and evidence are each shared by many findings (one file has many
    findings, one rule writes the same message for many services), and a lookup costs less
    than encoding the text again. Per report, so no text outlives it."""

    __slots__ = ()

    def __missing__(self, text: str) -> str:
        encoded = self[text] = _string(text)
        return encoded


class _Assets(dict):
    """The `"asset":…,"project":…,"service":…` fields of each asset, for one report: many
    findings share an asset, and its project and service with it."""

    __slots__ = ()

    def __missing__(self, asset: str) -> str:
        project, service = project_service(asset)
        encoded = self[asset] = (f'"asset":{_string(asset)},"project":{_nullable(project)},'
                                 f'"service":{_nullable(service)}')
        return encoded


def _nullable(text: str | None) -> str:
    """An optional text as JSON: what `_encode` writes for it, without the encoder's call."""
    return "null" if text is None else _string(text)


_SEVERITY_NAMES = {s: s.name for s in Severity}
_SEVERITY_JSON = {s: _string(s.name) for s in Severity}


def render(result: AuditResult) -> str:
    """`document(result)` as JSON: the same text as `json.dumps(document(result),
    ensure_ascii=False, separators=(",", ":"))`, which a test holds it to, but for the
    characters `escape.json_text` writes as `\\uNNNN` (C1 controls, bidi overrides).

    Written entry by entry instead: most of a finding's text is its rule's (title,
    documented fix, references), encoded here once per rule rather than once per finding;
    and neither a dict per finding nor the encoder's small chunks for all of them are held
    at once, which doubled the peak memory of a large run.
    """
    return b"".join(pieces(result)).decode("utf-8")


def pieces(result: AuditResult) -> Iterator[bytes]:
    """`render(result)` as UTF-8, in pieces of a few hundred entries, made as they are
    written: a piece written is freed, and the next is made in the memory it leaves, instead
    of the whole report being held at once. Each entry is encoded on its own: a single `…`
    of a redacted value or `→` of a port makes a whole text two bytes a character, so
    entries joined as text would widen every ASCII entry of their piece, only for the output
    to narrow them again; encoded one by one, the ASCII ones are copied as they are."""
    head = _encode(_head(result))      # {...,"summary":{...}}: the last key last
    rules: dict[str, _RuleJson] = {}
    strings = _Strings()
    assets = _Assets()
    yield (head[:-1] + ',"findings":[').encode()
    yield from _finding_batches(result.findings, rules, strings, assets)
    yield b'],"diagnostics":['
    yield from _batches((d.encoded or _diagnostic_json(d, strings).encode(),)
                        for d in result.diagnostics)
    yield b"]}\n"


def _batches(entries: Iterable[tuple[bytes, ...]], size: int = 256) -> Iterator[bytes]:
    """The entries, each given as its parts of UTF-8, comma-separated, in pieces of `size`
    entries: the parts of an entry are copied once, into their piece."""
    batch: list[bytes] = []
    count = 0
    started = False
    for parts in entries:
        if started:
            batch.append(b",")        # before every entry but the first
        started = True
        batch += parts
        count += 1
        if count >= size:
            yield b"".join(batch)
            batch = []
            count = 0
    if batch:
        yield b"".join(batch)


# What a finding's entry takes from its rule alone, in the pieces its own fields go between,
# as UTF-8: from "rule_id" to the "severity" key; "default_severity" to the "message" key (as
# text: `_own_json` puts it in a finding's own fields); the rule's fix; "checklist" to the
# "waived" key; "impact" to the end; and the end of an entry not waived, from "waived" on.
_RuleJson = tuple[bytes, str, bytes, bytes, bytes, bytes]


def _rule_json(f: Finding) -> _RuleJson:
    """The `_RuleJson` of the finding's rule."""
    rule_id, rule_name, title, default_severity, fix, checklist, refs, impact = \
        _rule_fields(f)
    encode = _encode
    impact_json = f',"impact":{encode(impact)}}}'.encode()
    return (f',"rule_id":{encode(rule_id)},"rule_name":{encode(rule_name)},'
            f'"title":{encode(title)},"severity":'.encode(),
            f',"default_severity":{encode(default_severity)},"message":',
            encode(fix).encode(),
            f',"checklist":{encode(checklist)},"refs":{encode(refs)},"waived":'.encode(),
            impact_json,
            b'false,"suppression":null' + impact_json)


def _finding_batches(findings: list[Finding], rules: dict[str, _RuleJson],
                     strings: _Strings, assets: _Assets, size: int = 256) -> Iterator[bytes]:
    """The findings' entries, comma-separated, in pieces of `size` entries, as `_batches`
    cuts them. It is the last step of an audit, with nothing running beside it: an entry
    `prepare()` encoded (still saying the same, and not waived since) is its ID and the
    parts already made, joined once into its piece, in one loop (not a tuple per entry
    handed through a generator to `_batches`, which cost as much again)."""
    content = Finding.content
    string = _string
    for start in range(0, len(findings), size):
        parts: list[bytes] = []
        append = parts.append
        for f in findings[start:start + size]:
            encoded = f.encoded
            if encoded is not None and f.suppression is None and encoded[0] == content(f):
                rule = rules.get(f.rule.id)
                if rule is None:
                    rule = rules[f.rule.id] = _rule_json(f)
                parts += (b',{"id":', string(f.id).encode(), rule[0], encoded[1],
                          b"" if f.fix else rule[2], rule[3], rule[5])
            else:
                append(b",")
                parts += _finding_parts(f, rules, strings, assets)
        if start == 0:
            parts[0] = parts[0][1:]     # no comma before the first entry
        yield b"".join(parts)


def _finding_parts(f: Finding, rules: dict[str, _RuleJson], strings: _Strings,
                   assets: _Assets) -> tuple[bytes, ...]:
    """`_finding(f)` encoded, in parts; `rules` caches `_rule_json` by rule ID for one
    report, `strings` the JSON of its texts (but the ID and fingerprint, which no other
    finding has) and `assets` the asset, project and service fields of each asset."""
    rule = rules.get(f.rule.id)
    if rule is None:
        rule = rules[f.rule.id] = _rule_json(f)
    head, _, rule_fix_json, lists, impact, not_waived = rule
    encoded = f.encoded       # what prepare() encoded, while the finding says the same
    if encoded is not None and encoded[0] == f.content():
        own = encoded[1]      # still what it says (a waiver suppressed it since)
    else:
        own_text = _own_json(f, rule, strings, assets)
        if own_text is None:  # a field of an unusual type: the encoder decides
            return (_encode(_finding(f)).encode(),)
        own = own_text.encode()
    s = f.suppression
    return (f'{{"id":{_string(f.id)}'.encode(), head, own, b"" if f.fix else rule_fix_json,
            lists, not_waived if s is None else
            b'true,"suppression":' + _encode(_suppression(s)).encode() + impact)


def _own_json(f: Finding, rule: _RuleJson, strings: _Strings, assets: _Assets) -> str | None:
    """A finding's own fields in its entry, from its severity to its own fix (none: the
    rule's follows), encoded; None when a field has an unusual type."""
    location = f.location
    try:
        if type(location.line) is not int or type(location.column) is not int:
            return None
        return (f'{_SEVERITY_JSON[f.severity]}{rule[1]}'
                f'{strings[f.message]},"location":{{"path":{strings[location.path]},'
                f'"line":{location.line},"column":{location.column}}},'
                f'{assets[f.asset]},'
                f'"resource":{strings[f.resource]},'
                # hex digits, as every fingerprint is: nothing in them to escape
                f'"fingerprint":"{f.fingerprint}","evidence":{strings[f.evidence]},'
                f'"fix":{strings[f.fix] if f.fix else ""}')
    except (TypeError, AttributeError):
        return None


def prepare(findings: list[Finding], diagnostics: Iterable[Diagnostic] = ()) -> None:
    """Encode what each finding says, and each diagnostic, ahead of the report: an audit
    that waits for a stage running beside it does this meanwhile (AuditOptions.prepare),
    and `pieces` then only adds each finding's ID, suppression and rule's fields, unless
    the finding changed (a diagnostic cannot)."""
    rules: dict[str, _RuleJson] = {}
    strings = _Strings()
    assets = _Assets()
    for d in diagnostics:
        set_frozen(d, "encoded", _diagnostic_json(d, strings).encode())
    for f in findings:
        rule = rules.get(f.rule.id)
        if rule is None:
            rule = rules[f.rule.id] = _rule_json(f)
        own = _own_json(f, rule, strings, assets)
        if own is not None:
            f.encoded = (f.content(), own.encode())


def _diagnostic_json(d: Diagnostic, strings: _Strings) -> str:
    location = d.location
    try:
        if location is None:
            where = "null"
        elif type(location.line) is int and type(location.column) is int:
            where = (f'{{"path":{strings[location.path]},"line":{location.line},'
                     f'"column":{location.column}}}')
        else:
            raise TypeError
        return (f'{{"level":{strings[d.level]},"code":{strings[d.code]},'
                f'"message":{strings[d.message]},"location":{where}}}')
    except (TypeError, AttributeError):
        return _encode(_diagnostic(d))


def document(result: AuditResult) -> dict:
    """The report as Python data: what `render` writes."""
    document = _head(result)
    document["findings"] = [_finding(f) for f in result.findings]
    document["diagnostics"] = [_diagnostic(d) for d in result.diagnostics]
    return document


def _head(result: AuditResult) -> dict:
    """Every field of the document before `findings` and `diagnostics`, in order."""
    counts = result.counts()
    summary: dict[str, int] = {s.name.lower(): counts[s] for s in SEVERITIES}
    summary.update(
        total=sum(counts.values()),
        # Counted, not derived from the counts: a view (--min-severity) counts the findings
        # it hides too, but lists only those it shows.
        waived=sum(f.suppression is not None for f in result.findings),
        files_scanned=result.files_scanned,
        projects=result.projects,
        services=result.services,
        rules_run=result.rules_run,
        errors=len(result.errors),
        gaps=len(diagnostics_by_level(result)["gap"]),
    )
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "labwarden", "version": tool_version()},
        "started": result.started,
        "duration_s": round(result.duration_s, 3),
        "targets": list(result.targets),
        "summary": summary,
    }


def _location(location: Location | None) -> dict | None:
    if location is None:
        return None
    return {"path": location.path, "line": location.line, "column": location.column}


def _rule_fields(f: Finding) -> tuple:
    """What a finding's entry takes from its rule alone."""
    rule = f.rule
    low, high = rule.impact.downtime_min
    return (rule.id, rule.name, rule.title, _SEVERITY_NAMES[rule.severity], rule_fix(f),
            list(rule.checklist), list(rule.refs),
            {"restarts": rule.impact.restarts, "downtime_min": [low, high]})


def _finding(f: Finding) -> dict:
    rule_id, rule_name, title, default_severity, rule_fix_text, checklist, refs, impact = \
        _rule_fields(f)
    s = f.suppression
    project, service = project_service(f.asset)
    return {
        "id": f.id,
        "rule_id": rule_id,
        "rule_name": rule_name,
        "title": title,
        "severity": _SEVERITY_NAMES[f.severity],
        "default_severity": default_severity,
        "message": f.message,
        "location": _location(f.location),
        "asset": f.asset,
        # The Compose project and service the asset names (null when it names none), so
        # that readers need not split the asset (a project may be named like a service).
        "project": project,
        "service": service,
        "resource": f.resource,
        "fingerprint": f.fingerprint,
        "evidence": f.evidence,
        # The hit's own fix, else the rule's documented one, whole (it may hold a snippet).
        "fix": f.fix or rule_fix_text,
        "checklist": checklist,
        "refs": refs,
        "waived": s is not None,
        "suppression": None if s is None else _suppression(s),
        "impact": impact,
    }


def _suppression(s: Suppression) -> dict:
    return {"kind": s.kind, "justification": s.justification, "owner": s.owner,
            "expires": s.expires, "location": _location(s.location)}


def _diagnostic(d: Diagnostic) -> dict:
    return {"level": d.level, "code": d.code, "message": d.message,
            "location": _location(d.location)}


def schema() -> dict:
    """The JSON Schema the documents follow (shipped inside the package)."""
    from importlib.resources import files

    return json.loads(files("labwarden.report").joinpath(SCHEMA_RESOURCE).read_text("utf-8"))
