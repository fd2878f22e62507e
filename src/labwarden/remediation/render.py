"""The roadmap for a terminal, as Markdown (the seed's roadmap: a summary of the phases with
their downtime, then each step with its host, changes, commands, check and rollback) and
as JSON with the same structure.

Labels, paths, fixes and commands quote the audited tree: every terminal line passes
`escape.terminal`, every Markdown value the escape function of its context. Findings are
named by their display number and, for anything that must still match after other
findings are fixed, by their reference (rule and fingerprint).
"""

from __future__ import annotations

from labwarden.remediation.downtime import minutes
from labwarden.remediation.steps import change_fix, change_head, reference

BASIS = ("Downtime counts what users notice: each step's longest chain of recreated "
         "containers, by kind of image (database 1-2 min, application 0.5-1.5, cache and "
         "proxy 0.25-0.5, agent 0.1-0.25; `remediation.recreate_minutes` in labwarden.yaml "
         "overrides them); reloads (sshd, firewall, proxy routes) count none. Work time is "
         "the operator's, from each rule's estimate plus 1-3 min per step to run and check it.")


def _where(step) -> str:
    if step.host:
        shown = step.address and "://" in step.address   # not a saved snapshot's path
        return f"on {step.host}" + (f" ({step.address})" if shown else "")
    return "host not in the inventory"


def _what(step) -> str:
    restarted = sorted(_short(u) for u, a in step.units.items() if a not in ("none", "reload"))
    reloaded = sorted(_short(u) for u, a in step.units.items() if a == "reload")
    what = ([f"restarts {', '.join(restarted)}"] if restarted else []) + \
        ([f"reloads {', '.join(reloaded)}"] if reloaded else [])
    if not what:
        return f"no restart — work {minutes(step.work)}"
    return f"{'; '.join(what)} — downtime {minutes(step.downtime)}, work {minutes(step.work)}"


def step_summary(step) -> str:
    """Where a step runs and what it restarts, for one line of a report."""
    return f"{_where(step)}: {_what(step)}"


def _short(unit: str) -> str:
    return unit.split("/", 1)[-1] if unit.startswith("compose:") else unit


def render_text(roadmap) -> str:
    from labwarden.report.escape import terminal_lines

    steps = sum(len(p.steps) for p in roadmap.phases)
    lines = [f"Remediation roadmap: {roadmap.findings} findings in {steps} steps, estimated "
             f"downtime {minutes(roadmap.downtime)}, work {minutes(roadmap.work)}", ""]
    for phase in roadmap.phases:
        lines.append(f"Phase {phase.number}: {phase.title} — {len(phase.steps)} steps, "
                     f"downtime {minutes(phase.downtime)}")
        for index, step in enumerate(phase.steps, start=1):
            lines.append(f"  {phase.number}.{index} {step.label} ({_where(step)}): "
                         f"{_what(step)}")
            for note in step.notes:
                lines.append(f"      note: {note}")
            for finding in step.findings:
                first, *rest = change_fix(finding).split("\n")
                lines.append(f"      {change_head(finding)}: {first}")
                lines += [f"          {line}" for line in rest]
            lines += [f"      $ {command}" for command in step.commands]
            lines += [f"      check $ {command}" for command in step.verify]
            lines += [f"      undo  $ {command}" for command in step.rollback]
            if step.basis and step.downtime[1]:
                lines.append(f"      downtime basis: {'; '.join(step.basis)}")
        lines.append("")
    lines.append(BASIS)
    return terminal_lines(lines)


def to_json(roadmap) -> dict:
    return {
        "downtime_min": list(roadmap.downtime),
        "work_min": list(roadmap.work),
        "basis": BASIS,
        "phases": [{
            "phase": p.number, "title": p.title, "downtime_min": list(p.downtime),
            "work_min": list(p.work),
            "steps": [{
                "step": f"{p.number}.{i}", "stack": s.label, "host": s.host,
                "address": s.address, "restarts": s.restarts,
                "units": {_short(u): a for u, a in s.units.items()},   # in restart order
                "downtime_min": list(s.downtime), "downtime_basis": s.basis,
                "work_min": list(s.work),
                "findings": [{"id": f.id, "ref": reference(f), "fingerprint": f.fingerprint,
                              "rule": f.rule.id, "location": str(f.location),
                              "change": change_fix(f)} for f in s.findings],
                "commands": s.commands, "verify": s.verify, "rollback": s.rollback,
                "notes": s.notes,
            } for i, s in enumerate(p.steps, start=1)],
        } for p in roadmap.phases],
    }


def render_markdown(roadmap) -> str:
    from labwarden.report.escape import markdown_block, markdown_code, markdown_prose, \
        markdown_text

    lines = ["## Remediation roadmap", "",
             f"Estimated downtime for the whole plan: **{minutes(roadmap.downtime)}** "
             f"(what users notice); operator work: {minutes(roadmap.work)}.", "",
             markdown_prose(BASIS), "",
             "| Phase | Steps | Downtime | Work |", "|---|---:|---|---|"]
    for phase in roadmap.phases:
        lines.append(f"| {phase.number}. {phase.title} | {len(phase.steps)} | "
                     f"{minutes(phase.downtime)} | {minutes(phase.work)} |")
    for phase in roadmap.phases:
        lines += ["", f"### Phase {phase.number}: {phase.title} ({minutes(phase.downtime)})",
                  ""]
        if not phase.steps:
            lines.append("Nothing to do.")
        for index, step in enumerate(phase.steps, start=1):
            lines += ["", f"#### {phase.number}.{index} {markdown_text(step.label)} — "
                          f"{markdown_text(_where(step))}", "",
                      f"{markdown_text(_what(step))}.", ""]
            if step.basis and step.downtime[1]:
                lines += [f"Downtime basis: {markdown_text('; '.join(step.basis))}.", ""]
            for note in step.notes:
                lines += [f"> {markdown_text(note)}", ""]
            for finding in step.findings:
                first, *rest = change_fix(finding).split("\n")
                lines.append(f"- {finding.id} ({markdown_code(reference(finding))}) "
                             f"{markdown_code(finding.location)}: {markdown_prose(first)}")
                if rest:
                    lines += [""] + markdown_block("\n".join(rest), indent="  ")
            for title, commands in (("Commands", step.commands), ("Check", step.verify),
                                    ("Rollback", step.rollback)):
                if commands:
                    lines += ["", f"{title}:", ""] + markdown_block("\n".join(commands), "sh")
    return "\n".join(lines) + "\n"
