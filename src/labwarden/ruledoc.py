"""A rule's documentation page, generated from its metadata (ruff-style): `labwarden rule ID`
prints it and `labwarden docs` writes docs/rules/<ID>.md for every rule."""

from __future__ import annotations

import os

from labwarden.model import Rule


def _autofix(rule: Rule) -> str:
    from labwarden.fix import FIXERS   # the fixer table is the one source of truth

    fixer = FIXERS.get(rule.id)
    if fixer is None:
        return "no"
    when = "applied by `labwarden fix --apply`" if fixer.safe else \
        f"on request: `labwarden fix --apply --rule {rule.id}`"
    return f"{fixer.summary} ({when})"


def render_rule(rule: Rule) -> str:
    doc = rule.doc
    lines = [
        f"# {rule.id} `{rule.name}`: {rule.title}",
        "",
        f"**Severity:** {rule.severity.name} · **Area:** {rule.area}  ",
        f"**Auto-fix:** {_autofix(rule)}",
        "",
        "## What it does",
        "",
        doc.what,
        "",
        "## Why it matters",
        "",
        doc.why,
        "",
        "## Example",
        "",
        doc.example,
        "",
        "## Fix",
        "",
        doc.fix,
        "",
        "## Remediation impact",
        "",
        f"Restarts: {rule.impact.restarts}; estimated downtime "
        f"{_minutes(rule.impact.downtime_min)}.",
        "",
    ]
    if rule.checklist:
        lines += ["## Checklist items", "",
                  "Fails: " + ", ".join(rule.checklist) + ("  " if rule.proves else ""), ]
        if rule.proves:
            lines.append("Proves (when the facts it examined show them): "
                         + ", ".join(rule.proves))
        lines.append("")
    if rule.refs:
        lines += ["## References", ""] + [f"- {ref}" for ref in rule.refs] + [""]
    lines += ["## Suppressing", "",
              f"`# labwarden: ignore[{rule.id}] <reason>` on the line or the line above, or a "
              "waiver in `labwarden.yaml`.", ""]
    return "\n".join(lines)


def _minutes(span: tuple[float, float]) -> str:
    low, high = span
    return f"{low:g} min" if low == high else f"{low:g}-{high:g} min"


def render_index(rules: list[Rule]) -> str:
    lines = ["# Rules", "", "Generated from the rule metadata by `labwarden docs`; do not edit.",
             "", "| ID | Name | Severity | Title | Checklist |", "|---|---|---|---|---|"]
    for rule in rules:
        lines.append(f"| [{rule.id}]({rule.id}.md) | `{rule.name}` | {rule.severity.name} | "
                     f"{rule.title} | {', '.join(rule.checklist)} |")
    return "\n".join(lines) + "\n"


def write_docs(rules: list[Rule], directory: str) -> list[str]:
    os.makedirs(directory, exist_ok=True)
    written = []
    pages = {f"{r.id}.md": render_rule(r) for r in rules}
    pages["README.md"] = render_index(rules)
    for name, text in pages.items():
        path = os.path.join(directory, name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        written.append(path)
    for stale in set(os.listdir(directory)) - set(pages):
        if stale.endswith(".md"):
            os.remove(os.path.join(directory, stale))
    return written
