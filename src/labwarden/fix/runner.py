"""Plan fixes for a set of findings, render them as unified diffs, and write them.

Findings are grouped by the file they point at; each file is loaded once, every selected
fixer edits it in turn, and the result is kept only if the whole file passes the checks in
`yamledit`. Only files inside the tree named on the command line are rewritten: a file
reached through `include: ../x` or a symlink that leads out is left alone and reported.
Writing goes through `fsio` (locked, atomic, the original's mode kept) and refuses a file
that changed since it was read.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field

from labwarden.fix import FIXERS, ORDER, FixContext, service_name
from labwarden.fix.yamledit import Document, Skip
from labwarden.model import Finding, Location, Severity
from labwarden.sources._read import FileTooLarge, NotRegularFile, read_regular

MAX_FILE_BYTES = 10 * 1024 * 1024


@dataclass
class Outcome:
    status: str              # fixed | skipped
    rule: str
    location: Location
    asset: str
    message: str

    @property
    def service(self) -> str:
        return service_name(self) or self.asset.removeprefix("compose:")


@dataclass
class FileChange:
    path: str
    before: str
    after: str
    outcomes: list[Outcome] = field(default_factory=list)
    root: str | None = None     # the named tree the file must stay in when written


@dataclass
class FixPlan:
    changes: list[FileChange] = field(default_factory=list)   # files whose text changes
    outcomes: list[Outcome] = field(default_factory=list)     # every selected finding
    withheld: dict[str, int] = field(default_factory=dict)    # rule -> findings not selected
    outside: dict[str, str] = field(default_factory=dict)     # file left alone -> why

    @property
    def fixed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "fixed"]

    @property
    def skipped(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "skipped"]


def resolve_rules(refs: list[str] | None) -> set[str] | None:
    """Rule IDs or names (repeatable, comma-separated) → fixer rule IDs. None: no --rule,
    every safe fixer. Raises ValueError naming what is wrong."""
    if not refs:
        return None
    from labwarden.rules.registry import get

    selected = set()
    for ref in (r.strip() for item in refs for r in item.split(",")):
        if not ref:
            continue
        found = get(ref)
        if found is None:
            from labwarden.rules._suggest import no_rule

            raise ValueError(no_rule(ref))
        if found.id not in FIXERS:
            raise ValueError(f"{found.id} has no automatic fix; fixable rules: "
                             f"{', '.join(sorted(FIXERS))}")
        selected.add(found.id)
    return selected


def plan(findings: list[Finding], selected: set[str] | None,
         context: FixContext | None = None, roots: list[str] | None = None) -> FixPlan:
    """`roots`: the trees named on the command line; a file outside all of them is never
    rewritten (None: no such limit, for callers that name files themselves)."""
    context = context or FixContext()
    result = FixPlan()
    by_file: dict[str, list[Finding]] = {}
    seen = set()
    for finding in findings:
        fixer = FIXERS.get(finding.rule.id)
        if fixer is None or finding.severity == Severity.INFO:
            continue            # INFO: a record of a decision (an exemption), nothing to fix
        if (selected is None and not fixer.safe) or (selected is not None and
                                                     finding.rule.id not in selected):
            if not fixer.safe and not finding.waived:
                result.withheld[finding.rule.id] = result.withheld.get(finding.rule.id, 0) + 1
            continue
        # One file audited as part of two projects reports the same finding twice (the
        # project differs, not the service); an anchor's line stands for several services.
        key = (finding.rule.id, finding.location, finding.resource, service_name(finding))
        if key in seen:
            continue
        seen.add(key)
        if finding.waived:
            s = finding.suppression
            why = f"waived ({s.justification})" if s.kind == "waiver" else \
                f"suppressed inline ({s.justification})"
            result.outcomes.append(_outcome("skipped", finding, why))
            continue
        if not finding.location.path or not finding.location.line:
            result.outcomes.append(_outcome("skipped", finding, "the finding has no line"))
            continue
        # One file named two ways (relative, absolute, through a link) is one file.
        by_file.setdefault(os.path.realpath(finding.location.path), []).append(finding)
    for real in sorted(by_file):
        path = by_file[real][0].location.path
        root, why = _tree_of(path, roots)
        if why:
            result.outside[path] = why
            result.outcomes.extend(_outcome("skipped", f, "outside the tree named on the "
                                            "command line; left alone") for f in by_file[real])
            continue
        change = _fix_file(path, by_file[real], context)
        change.root = root
        result.outcomes.extend(change.outcomes)
        if change.after != change.before:
            result.changes.append(change)
    return result


def _tree_of(path: str, roots: list[str] | None) -> tuple[str | None, str]:
    """The named tree `path` is in, or why it is in none of them."""
    from labwarden.fsio import WriteRefused, inside

    if roots is None:
        return None, ""
    for root in roots:
        try:
            inside(root, path)
            return root, ""
        except WriteRefused:
            continue
    real = os.path.realpath(path)
    how = f" (a symlink to {real})" if real != os.path.abspath(path) else ""
    named = ", ".join(display_path(r) for r in roots)
    return None, (f"{display_path(path)}{how} is outside the tree named on the command line "
                  f"({named}); left alone, nothing outside it is written")


def _outcome(status: str, finding: Finding, message: str) -> Outcome:
    return Outcome(status, finding.rule.id, finding.location, finding.asset, message)


def _read(path: str) -> str:
    try:
        data = read_regular(path, MAX_FILE_BYTES)
    except NotRegularFile as exc:
        raise Skip(exc.strerror) from None
    except FileTooLarge:
        raise Skip("the file is too large to rewrite") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise Skip("the file is not UTF-8") from None


def _fix_file(path: str, findings: list[Finding], context: FixContext) -> FileChange:
    findings = sorted(findings, key=lambda f: (f.location.line, ORDER.index(f.rule.id),
                                               f.resource))
    try:
        raw = _read(path)
        doc = Document(path, raw)
    except (Skip, OSError) as exc:
        reason = exc.reason if isinstance(exc, Skip) else f"cannot read it ({exc.strerror})"
        return FileChange(path, "", "", [_outcome("skipped", f, reason) for f in findings])
    except Exception as exc:  # noqa: BLE001 - ruamel on input it cannot represent
        reason = f"ruamel.yaml cannot load it for rewriting ({type(exc).__name__})"
        return FileChange(path, "", "", [_outcome("skipped", f, reason) for f in findings])
    change = FileChange(path, raw, raw)
    try:
        change.outcomes = _apply(doc, findings, context)
        change.after = doc.render()
        return change
    except _FixerCrashed as exc:
        return _abandon(change, findings, exc.reason)
    except Skip as exc:
        fixed = [o for o in change.outcomes if o.status == "fixed"]
        if len(fixed) <= 1:
            return _abandon(change, findings, exc.reason)
    except Exception as exc:  # noqa: BLE001 - never write what could not be checked
        return _abandon(change, findings, f"the file could not be rewritten "
                                          f"({type(exc).__name__}); nothing written")
    return _one_by_one(change, findings, context, doc.style)


class _FixerCrashed(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _apply(doc: Document, findings: list[Finding], context: FixContext) -> list[Outcome]:
    outcomes = []
    for finding in findings:
        try:
            message = FIXERS[finding.rule.id].apply(doc, finding, context)
        except Skip as exc:
            outcomes.append(_outcome("skipped", finding, exc.reason))
            continue
        except Exception as exc:
            raise _FixerCrashed(f"a fixer failed ({type(exc).__name__}); nothing written to "
                                "this file") from exc
        outcomes.append(_outcome("fixed", finding, message))
    return outcomes


def _one_by_one(change: FileChange, findings: list[Finding], context: FixContext,
                style) -> FileChange:
    """Together the edits could not be written: keep each one that can be, alone with the
    ones kept before it, and skip the others with their reason."""
    fixed = [(f, o) for f, o in zip(findings, change.outcomes) if o.status == "fixed"]
    kept: list[Finding] = []
    verdicts: dict[int, Outcome] = {}
    for finding, _ in fixed:
        try:
            doc = Document(change.path, change.before, style)
            verdict = _apply(doc, kept + [finding], context)[-1]
            if verdict.status == "fixed":
                doc.render()
        except Skip as exc:
            verdict = _outcome("skipped", finding, exc.reason)
        except Exception as exc:  # noqa: BLE001
            verdict = _outcome("skipped", finding, f"the file could not be rewritten "
                                                   f"({type(exc).__name__})")
        verdicts[id(finding)] = verdict
        if verdict.status == "fixed":
            kept.append(finding)
    change.outcomes = [verdicts.get(id(f), o) for f, o in zip(findings, change.outcomes)]
    if kept:
        try:
            doc = Document(change.path, change.before, style)
            if any(o.status != "fixed" for o in _apply(doc, kept, context)):
                raise Skip("the fixes did not apply the same way twice; nothing written")
            change.after = doc.render()
        except (Skip, _FixerCrashed) as exc:
            return _abandon(change, findings, exc.reason)
    return change


def _abandon(change: FileChange, findings: list[Finding], reason: str) -> FileChange:
    done = {(o.rule, o.location, o.asset): o for o in change.outcomes}
    outcomes = []
    for finding in findings:
        previous = done.get((finding.rule.id, finding.location, finding.asset))
        if previous is not None and previous.status == "skipped":
            outcomes.append(previous)
        else:
            outcomes.append(_outcome("skipped", finding, reason))
    return FileChange(change.path, change.before, change.before, outcomes)


# --- output -----------------------------------------------------------------------------

def display_path(path: str) -> str:
    """Relative to the current directory when under it, else absolute."""
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute)
    except ValueError:
        return absolute
    return absolute if relative.startswith("..") else relative


def unified_diff(change: FileChange) -> tuple[str, bool]:
    """The change as a unified diff with paths relative to the current directory, and
    whether a secret value in it was redacted (then it is for reading, not for `git apply`).

    Every line shown, context included, is redacted as findings are: credentials by their
    shape and name, and every secret value the file assigns wherever else it appears (its
    healthcheck's `redis-cli -a …`). The file written keeps them, of course."""
    from labwarden.redact import redactor, secret_values

    name = display_path(change.path)
    a, b = (name, name) if os.path.isabs(name) else (f"a/{name}", f"b/{name}")
    redact = redactor(secret_values(change.before) + secret_values(change.after))
    lines, redacted = [], False
    for line in difflib.unified_diff(change.before.splitlines(True),
                                     change.after.splitlines(True), a, b):
        if line[:1] in " +-" and not line.startswith(("--- ", "+++ ")):
            shown = redact(line)
            redacted = redacted or shown != line
            line = shown
        lines.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(lines), redacted


def summary(plan_: FixPlan, applied: bool) -> str:
    lines = []
    for o in sorted(plan_.outcomes, key=lambda o: (o.status != "fixed",
                                                   display_path(o.location.path),
                                                   o.location.line, o.rule)):
        where = f"{display_path(o.location.path)}:{o.location.line}"
        lines.append(f"{o.status:<8} {where}  {o.rule}  {o.service}: {o.message}")
    files = len(plan_.changes)
    verb = "fixed" if applied else "fixable"
    lines.append(f"{len(plan_.fixed)} {verb}, {len(plan_.skipped)} skipped, in {files} "
                 f"file{'s' if files != 1 else ''}" + ("" if applied or not files else
                                                       "; run with --apply to write them"))
    if plan_.withheld:
        counts = ", ".join(f"{rule} ({n})" for rule, n in sorted(plan_.withheld.items()))
        lines.append(f"behaviour-changing fixes not selected: {counts}; name them with "
                     "--rule ID to apply them")
    return "\n".join(lines) + "\n"


# --- writing ----------------------------------------------------------------------------

class WriteError(Exception):
    pass


def write(change: FileChange) -> None:
    """Replace the file atomically under its lock, keeping its mode (and owner as root);
    refuse a file that changed since it was read, or that resolves outside its tree."""
    from labwarden import fsio

    name = display_path(change.path)
    try:
        target = fsio.inside(change.root, change.path) if change.root else \
            os.path.realpath(change.path)
        with fsio.locked(target):
            if fsio.read_text(target) != change.before:
                raise WriteError(f"{name}: changed since it was read; not written")
            fsio.replace(target, change.after)
    except fsio.WriteRefused as exc:
        raise WriteError(str(exc)) from None
