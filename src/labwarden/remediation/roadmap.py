"""The phased remediation roadmap, as the seed's audit ended: what to fix in which order,
what restarts, and how long the lab is down.

Phases: 1 immediate fixes that restart nothing (permissions, leaked files, firewall rules);
2 CRITICAL fixes that need a restart; 3 HIGH; 4 MEDIUM and LOW hardening. Downtime is
counted per restart, not per finding: every fix to one service rides along with that
service's first restart, so five fixes to one container cost one recreate. Within a phase,
databases restart before the applications that depend on them, and the reverse proxy last.
Restart times come from the rules' remediation-impact metadata, a database default, and
per-service overrides in labwarden.yaml:

    remediation:
      restart_minutes:
        "paperless/db": [2, 6]        # a glob over project/service
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field

from labwarden.model import AuditResult, Finding, Severity

PHASES = {
    1: "Immediate fixes, no downtime",
    2: "CRITICAL fixes that need a restart",
    3: "HIGH fixes",
    4: "MEDIUM and LOW hardening",
}
DATABASE_RESTART = (2.0, 5.0)   # a database flushes and recovers: slower than a web app


@dataclass
class ServiceInfo:
    """What the roadmap needs to know about a Compose service besides its findings."""

    asset: str
    name: str
    project_dir: str
    files: list[str]
    depends_on: list[str] = field(default_factory=list)   # assets
    is_database: bool = False
    is_proxy: bool = False


@dataclass
class Step:
    phase: int
    unit: str                     # what restarts: a service asset, a project, or "-"
    label: str
    restarts: str                 # none | service | project | host
    findings: list[Finding]
    downtime: tuple[float, float]
    commands: list[str]
    changes: list[str]


@dataclass
class Phase:
    number: int
    title: str
    steps: list[Step]

    @property
    def downtime(self) -> tuple[float, float]:
        return (sum(s.downtime[0] for s in self.steps), sum(s.downtime[1] for s in self.steps))


@dataclass
class Roadmap:
    phases: list[Phase]

    @property
    def downtime(self) -> tuple[float, float]:
        return (sum(p.downtime[0] for p in self.phases), sum(p.downtime[1] for p in self.phases))

    @property
    def findings(self) -> int:
        return sum(len(s.findings) for p in self.phases for s in p.steps)


def _phase_of(finding: Finding) -> int:
    if finding.rule.impact.restarts == "none":
        return 1
    if finding.severity >= Severity.CRITICAL:
        return 2
    if finding.severity >= Severity.HIGH:
        return 3
    return 4


def _unit(finding: Finding) -> tuple[str, str]:
    """(restart unit, restarts): the service for service-level fixes, else the project."""
    restarts = finding.rule.impact.restarts
    asset = finding.asset
    if restarts == "none":
        return "-", "none"
    if restarts == "service" and asset.count("/") >= 1 and asset.startswith("compose:") \
            and ":" not in asset[len("compose:"):]:
        return asset, "service"
    project = asset.split(":", 2)
    project_asset = ":".join(project[:2]).rsplit("/", 1)[0] if restarts == "project" else asset
    if asset.startswith("compose:") and ":" in asset[len("compose:"):]:   # an env file
        project_asset = "compose:" + asset[len("compose:"):].split(":", 1)[0]
        return project_asset, "project"
    return project_asset, restarts


def build(result: AuditResult, services: dict[str, ServiceInfo] | None = None,
          restart_minutes: dict[str, tuple[float, float]] | None = None) -> Roadmap:
    services = services or {}
    restart_minutes = restart_minutes or {}
    # An INFO finding that fails no checklist item records a decision (the proxy's 80/443
    # exempt by design): nothing to remediate, no restart to plan.
    active = [f for f in result.findings if not f.waived
              and not (f.severity == Severity.INFO and not f.checklist)]
    # Each restart unit restarts once, in the earliest phase one of its fixes needs.
    first_phase: dict[str, int] = {}
    for finding in active:
        unit, restarts = _unit(finding)
        if restarts != "none":
            first_phase[unit] = min(first_phase.get(unit, 5), _phase_of(finding))
    grouped: dict[tuple[int, str], list[Finding]] = {}
    for finding in active:
        unit, restarts = _unit(finding)
        phase = 1 if restarts == "none" else first_phase[unit]
        grouped.setdefault((phase, unit if restarts != "none" else finding.asset), []).append(
            finding)
    phases = []
    for number, title in PHASES.items():
        steps = [_step(number, unit, findings, services, restart_minutes)
                 for (phase, unit), findings in grouped.items() if phase == number]
        steps.sort(key=lambda s: _order(s, services))
        phases.append(Phase(number, title, steps))
    return Roadmap(phases)


def _order(step: Step, services: dict[str, ServiceInfo]):
    info = services.get(step.unit)
    is_proxy = bool(info and info.is_proxy)
    depth = _depth(step.unit, services, set())
    return (is_proxy, depth, step.label)


def _depth(asset: str, services: dict[str, ServiceInfo], seen: set) -> int:
    """How many layers of dependencies sit below a service (a database is 0)."""
    info = services.get(asset)
    if info is None or asset in seen or not info.depends_on:
        return 0
    seen = seen | {asset}
    return 1 + max(_depth(d, services, seen) for d in info.depends_on)


def _step(phase: int, unit: str, findings: list[Finding], services: dict[str, ServiceInfo],
          restart_minutes: dict[str, tuple[float, float]]) -> Step:
    findings.sort(key=lambda f: (-f.severity, f.id))
    restarts = "none" if unit == "-" or all(f.rule.impact.restarts == "none" for f in findings) \
        else max((f.rule.impact.restarts for f in findings),
                 key=("none", "service", "project", "host").index)
    label = unit.split(":", 1)[-1] if unit != "-" else findings[0].asset.split(":", 1)[-1]
    if restarts == "none":
        downtime = (0.0, 0.0)
    else:
        downtime = _restart_time(unit, label, findings, services, restart_minutes)
    changes = [f"{_change_head(finding)}: {_change_fix(finding)}" for finding in findings]
    return Step(phase, unit, label, restarts, findings, downtime,
                _commands(unit, restarts, services), changes)


def _change_head(finding: Finding) -> str:
    """Which finding a change fixes, and where: `HIGH-001 (CMP010) compose.yaml:4`."""
    return f"{finding.id} ({finding.rule.id}) {finding.location}"


def _change_fix(finding: Finding) -> str:
    """The change itself: the hit's fix, else the rule's documented one, without fences."""
    fix = (finding.fix or finding.rule.doc.fix).strip().replace("```yaml\n", "")
    return fix.replace("```", "").strip()


def _restart_time(unit, label, findings, services, restart_minutes) -> tuple[float, float]:
    for pattern, span in restart_minutes.items():
        if fnmatch.fnmatchcase(label, pattern):
            return (float(span[0]), float(span[1]))
    low = max(f.rule.impact.downtime_min[0] for f in findings)
    high = max(f.rule.impact.downtime_min[1] for f in findings)
    info = services.get(unit)
    if info is not None and info.is_database:
        low, high = max(low, DATABASE_RESTART[0]), max(high, DATABASE_RESTART[1])
    return (low, high)


def _commands(unit: str, restarts: str, services: dict[str, ServiceInfo]) -> list[str]:
    info = services.get(unit)
    if restarts == "none" or info is None and restarts == "service":
        return []
    if info is not None:
        files = " ".join(f"-f {os.path.relpath(f, info.project_dir)}" for f in info.files)
        return [f"cd {info.project_dir} && docker compose {files} up -d --force-recreate "
                f"{info.name}"]
    directory = next((s.project_dir for s in services.values()
                      if s.asset.startswith(unit + "/")), None)
    return [f"cd {directory} && docker compose up -d"] if directory else []


def service_infos(paths: list[str], settings) -> dict[str, ServiceInfo]:
    """Dependencies and roles of the Compose services under `paths` (loaded again: cheap)."""
    from labwarden.knowledge import images as _images
    from labwarden.knowledge.ports import classify
    from labwarden.sources.compose.discover import discover
    from labwarden.sources.compose.loader import load_project

    infos: dict[str, ServiceInfo] = {}
    for spec in discover(paths, []):
        project = load_project(spec, [])
        if project is None:
            continue
        for service in project.services.values():
            depends = service.raw.get("depends_on") or {}
            entry = classify(service.image, [])
            infos[service.asset] = ServiceInfo(
                asset=service.asset, name=service.name, project_dir=project.directory,
                files=list(project.files),
                depends_on=[f"compose:{project.name}/{d}" for d in depends],
                is_database=bool(entry and entry.kind == "database"),
                is_proxy=service.name in settings.proxy_services
                or _images.matches(service.image, settings.proxy_images))
    return infos


def minutes(span: tuple[float, float]) -> str:
    low, high = span
    return f"{low:g} min" if low == high else f"{low:g}-{high:g} min"


def render_text(roadmap: Roadmap) -> str:
    """The roadmap for a terminal. Labels, paths and fixes quote the audited tree: every
    line passes `escape.terminal`, and a value cannot break a line of its own."""
    from labwarden.report.escape import terminal_lines

    lines = [f"Remediation roadmap: {roadmap.findings} findings in "
             f"{sum(len(p.steps) for p in roadmap.phases)} steps, estimated downtime "
             f"{minutes(roadmap.downtime)}", ""]
    for phase in roadmap.phases:
        lines.append(f"Phase {phase.number}: {phase.title} — {len(phase.steps)} steps, "
                     f"downtime {minutes(phase.downtime)}")
        for index, step in enumerate(phase.steps, start=1):
            ids = ", ".join(f.id for f in step.findings)
            what = "no restart" if step.restarts == "none" else \
                f"restarts {step.restarts} {step.label} ({minutes(step.downtime)})"
            lines.append(f"  {phase.number}.{index} {step.label}: {what} — {ids}")
            for finding in step.findings:
                first, *rest = _change_fix(finding).split("\n")
                lines.append(f"      {_change_head(finding)}: {first}")
                lines += [f"          {line}" for line in rest]
            lines += [f"      $ {command}" for command in step.commands]
        lines.append("")
    return terminal_lines(lines)


def to_json(roadmap: Roadmap) -> dict:
    return {
        "downtime_min": list(roadmap.downtime),
        "phases": [{
            "phase": p.number, "title": p.title, "downtime_min": list(p.downtime),
            "steps": [{"unit": s.label, "restarts": s.restarts,
                       "downtime_min": list(s.downtime),
                       "findings": [f.id for f in s.findings], "commands": s.commands,
                       "changes": s.changes} for s in p.steps],
        } for p in roadmap.phases],
    }


def render_markdown(roadmap: Roadmap) -> str:
    """The roadmap as Markdown. Labels, paths, fixes and commands quote the audited tree:
    each passes the `escape` function of its Markdown context."""
    from labwarden.report.escape import markdown_block, markdown_code, markdown_prose, \
        markdown_text

    lines = ["## Remediation roadmap", "",
             f"Estimated downtime for the whole plan: **{minutes(roadmap.downtime)}**.", "",
             "| Phase | Steps | Downtime |", "|---|---:|---|"]
    for phase in roadmap.phases:
        lines.append(f"| {phase.number}. {phase.title} | {len(phase.steps)} | "
                     f"{minutes(phase.downtime)} |")
    for phase in roadmap.phases:
        lines += ["", f"### Phase {phase.number}: {phase.title} ({minutes(phase.downtime)})", ""]
        if not phase.steps:
            lines.append("Nothing to do.")
        for index, step in enumerate(phase.steps, start=1):
            what = "no restart" if step.restarts == "none" else \
                f"restarts {markdown_code(step.label)} ({minutes(step.downtime)})"
            lines.append(f"{index}. **{markdown_text(step.label)}** — {what}: "
                         + ", ".join(f.id for f in step.findings))
            for finding in step.findings:
                first, *rest = _change_fix(finding).split("\n")
                lines.append(f"   - {finding.id} ({finding.rule.id}) "
                             f"{markdown_code(finding.location)}: {markdown_prose(first)}")
                if rest:
                    lines += [""] + markdown_block("\n".join(rest), indent="     ")
            lines += [f"   - {markdown_code(command)}" for command in step.commands]
    return "\n".join(lines) + "\n"
