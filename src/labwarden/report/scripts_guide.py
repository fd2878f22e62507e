"""The part of `labwarden scripts` the seed's script validation had beside the findings: a
consolidated container-name fix guide ("wrong name → right name", as the seed's
CONTAINER_NAME_FIXES.md) and a verdict per script, ready or needs changes.

Read from the findings (SCR008's suggestion is the container its message names) and the
scripts the audit kept as facts; appended to the terminal and Markdown reports.
"""

from __future__ import annotations

import re

from labwarden.model import Severity

# What SCR008's messages name as the right one (rules/scripts.py writes them).
_MEANT = (re.compile(r"did you mean `([^`]+)`"),
          re.compile(r"takes the service name `([^`]+)`"))
# A script needs changes for an active finding at or above this severity, or for one of
# these rules whatever its severity (a syntax error, a wrong container name).
NEEDS_CHANGES_AT = Severity.MEDIUM
ALWAYS = frozenset({"SCR001", "SCR008"})


def _meant(finding) -> str:
    if finding.resource.startswith("container-twice:"):
        return "(defined twice: give each service its own name)"
    for pattern in _MEANT:
        match = pattern.search(finding.message)
        if match:
            return match.group(1)
    return "(no match in the lab: see the finding)"


def name_fixes(findings) -> list[tuple[str, str, str, list[str]]]:
    """(kind, wrong name, right name, where) per wrong name, in name order."""
    rows: dict[tuple[str, str], tuple[str, list[str]]] = {}
    for f in findings:
        if f.rule.id != "SCR008" or f.waived:
            continue
        kind, _, name = f.resource.partition(":")
        kind = "container" if kind.startswith("container") else kind
        entry = rows.setdefault((kind, name), (_meant(f), []))
        entry[1].append(f"{f.asset.removeprefix('script:')}:{f.location.line}")
    return [(kind, name, right, where) for (kind, name), (right, where) in sorted(rows.items())]


def verdicts(result) -> list[tuple[str, str, str]]:
    """(script, ready | needs changes, why) for every script checked."""
    from labwarden.sources.scripts.fact import ShellScript

    scripts = sorted({fact.asset for _, _, fact in result.facts
                      if isinstance(fact, ShellScript)})
    by_asset: dict[str, list] = {}
    for f in result.findings:
        if not f.waived:
            by_asset.setdefault(f.asset, []).append(f)
    rows = []
    for asset in scripts:
        found = by_asset.get(asset, [])
        blocking = [f for f in found if f.severity >= NEEDS_CHANGES_AT or f.rule.id in ALWAYS]
        name = asset.removeprefix("script:")
        if blocking:
            counts: dict[str, int] = {}
            for f in blocking:
                counts[f.rule.id] = counts.get(f.rule.id, 0) + 1
            why = ", ".join(f"{rule}" + (f" ×{n}" if n > 1 else "")
                            for rule, n in sorted(counts.items()))
            rows.append((name, "needs changes", why))
        else:
            rest = len(found)
            rows.append((name, "ready", f"{rest} note{'s' if rest != 1 else ''} below "
                         f"{NEEDS_CHANGES_AT.name}" if rest else ""))
    return rows


def render(result, markdown: bool = False) -> str:
    fixes = name_fixes(result.findings)
    rows = verdicts(result)
    if not rows:
        return ""
    out = []
    if markdown:
        out.append("## Container name fix guide\n")
        if fixes:
            out += ["| Wrong name | Right name | Kind | Used at |", "|---|---|---|---|"]
            out += [f"| `{w}` | `{r}` | {k} | {', '.join(where)} |" for k, w, r, where in fixes]
        else:
            out.append("Every container and service name the scripts use exists in the lab.")
        out += ["", "## Script verdicts\n", "| Script | Verdict | Why |", "|---|---|---|"]
        out += [f"| `{s}` | {v} | {why} |" for s, v, why in rows]
    else:
        out.append("Container name fix guide")
        if fixes:
            width = max(len(w) for _, w, _, _ in fixes)
            right = max(len(r) for _, _, r, _ in fixes)
            out += [f"  {w:<{width}} → {r:<{right}}  ({k}; {', '.join(where)})"
                    for k, w, r, where in fixes]
        else:
            out.append("  every container and service name the scripts use exists in the lab")
        out.append("Script verdicts")
        width = max(len(s) for s, _, _ in rows)
        out += [f"  {s:<{width}}  {v}" + (f" ({why})" if why else "") for s, v, why in rows]
    ready = sum(1 for _, v, _ in rows if v == "ready")
    out.append(f"{'' if markdown else '  '}{ready} of {len(rows)} script"
               f"{'s' if len(rows) != 1 else ''} ready")
    return "\n".join(out) + "\n"
