"""The phased remediation roadmap, as the seed's audit ended: what to fix in which order,
on which host, with which commands, how to check and undo each step, and how long the
lab's users notice it.

The pieces, each in its module:

- `graph`: the lab's services and the restart graph (depends_on, names used over shared
  networks, the reverse proxy's upstreams, the inventory's hosts);
- `units`: which unit each finding's fix restarts or reloads (a proxy route reloads the
  proxy; it is not a service);
- `phases`: the phase of each restart, dependencies moved forward so that nothing
  restarts before what it depends on has reached its final state, and the order of steps;
- `downtime`: downtime per kind of image apart from the operator's work time;
- `steps`: commands, checks, rollback, password rotation;
- `render`: terminal, Markdown and JSON.

A step is one stack (a Compose project, a host, a proxy outside the tree) in one phase:
its services restart together, with one `docker compose up -d`.
"""

from __future__ import annotations

from dataclasses import dataclass

from labwarden.model import AuditResult, Finding, Severity
from labwarden.remediation import phases as _phases
from labwarden.remediation.downtime import Estimator, minutes, work_time
from labwarden.remediation.graph import Lab
from labwarden.remediation.render import render_markdown, render_text, to_json
from labwarden.remediation.steps import Step, fill
from labwarden.remediation.units import Placement, place, stronger

PHASES = _phases.PHASES
__all__ = ["Phase", "Roadmap", "Step", "build", "minutes", "render_markdown", "render_text",
           "to_json"]


@dataclass
class Phase:
    number: int
    title: str
    steps: list[Step]

    @property
    def downtime(self) -> tuple[float, float]:
        return (sum(s.downtime[0] for s in self.steps), sum(s.downtime[1] for s in self.steps))

    @property
    def work(self) -> tuple[float, float]:
        return (sum(s.work[0] for s in self.steps), sum(s.work[1] for s in self.steps))


@dataclass
class Roadmap:
    phases: list[Phase]
    lab: object = None

    @property
    def downtime(self) -> tuple[float, float]:
        return (round(sum(p.downtime[0] for p in self.phases), 2),
                round(sum(p.downtime[1] for p in self.phases), 2))

    @property
    def work(self) -> tuple[float, float]:
        return (sum(p.work[0] for p in self.phases), sum(p.work[1] for p in self.phases))

    @property
    def findings(self) -> int:
        return sum(len(s.findings) for p in self.phases for s in p.steps)

    def violations(self) -> list[str]:
        return _phases.violations(self, self.lab)


def build(result: AuditResult, lab: Lab | None = None,
          estimator: Estimator | None = None) -> Roadmap:
    """The plan for the open findings of `result`. Without `lab` (graph.load_lab) it knows
    no service besides the findings' assets: no dependencies, hosts or commands."""
    lab = lab if lab is not None else Lab()
    estimator = estimator or Estimator(lab)
    # An INFO finding that fails no checklist item records a decision (the proxy's 80/443
    # exempt by design): nothing to remediate, no restart to plan.
    active = [f for f in result.findings if not f.waived
              and not (f.severity == Severity.INFO and not f.checklist)]
    placed: list[tuple[Finding, Placement]] = [(f, place(f, lab)) for f in active]
    _host_edges(placed, lab)
    own: dict[str, int] = {}
    together: list[set[str]] = []
    for finding, where in placed:
        for unit, action in where.units.items():
            phase = _phases.own_phase(finding, action != "none")
            own[unit] = min(own.get(unit, 5), phase)
        if len(where.units) > 1:
            together.append(set(where.units))
    together += _rotation_groups(placed, lab, own)
    phase_of, why = _phases.assign(own, lab, together)
    steps: dict[tuple[int, str], Step] = {}
    for finding, where in placed:
        phase = min((phase_of[u] for u in where.units), default=1)
        step = steps.get((phase, where.stack))
        if step is None:
            step = steps[(phase, where.stack)] = _new_step(phase, where, lab)
        step.findings.append(finding)
        for unit, action in where.units.items():
            step.units[unit] = stronger(step.units.get(unit, "none"), action)
    for unit, phase in phase_of.items():            # a rotation's consumer with no finding
        if not any(unit in s.units for s in steps.values()):
            stack = lab.services[unit].project if unit in lab.services else unit
            step = steps.get((phase, stack)) or steps.setdefault(
                (phase, stack), _new_step(phase, Placement(stack, host=lab.host_of(unit)), lab))
            step.units[unit] = "recreate"
    for step in steps.values():
        step.findings.sort(key=lambda f: (-f.severity, f.id))
        step.units = _phases.in_order(step.units, lab)
        step.downtime, step.basis = estimator.step(step.units)
        step.work = work_time(step.findings, step.restarts != "none")
        step.notes += [f"{_short(u)}: {why[u]}" for u in sorted(step.units) if u in why]
        fill(step, lab)
    phases = []
    for number, title in PHASES.items():
        chosen = [s for (p, _), s in steps.items() if p == number]
        phases.append(Phase(number, title, _phases.order_steps(chosen, lab)))
    return Roadmap(phases, lab)


def _new_step(phase: int, where: Placement, lab) -> Step:
    host = where.host
    return Step(phase=phase, stack=where.stack, label=_stack_label(where.stack), host=host,
                address=lab.hosts.get(host) if host else None, units={})


def _stack_label(stack: str) -> str:
    kind, _, rest = stack.partition(":")
    if kind == "compose":
        return rest
    if kind == "host":
        return f"host {rest}"
    return stack


def _short(unit: str) -> str:
    return unit.split(":", 1)[-1] if unit.startswith("compose:") else unit


def _host_edges(placed, lab) -> None:
    """A host-level restart restarts every container on the host: they go after it."""
    for _, where in placed:
        for unit, action in where.units.items():
            if action in ("daemon", "reboot") and where.host:
                for service in lab.services.values():
                    if service.host == where.host:
                        lab.add_edge(service.asset, unit, f"runs on {where.host}")


def _rotation_groups(placed, lab, own: dict[str, int]) -> list[set[str]]:
    """A database whose password is rotated changes with every consumer of it: they
    restart in the same step, the consumers after it."""
    from labwarden.remediation.steps import consumers_of, is_password, variable

    groups = []
    for service in lab.services.values():
        if service.engine is None:
            continue
        consumers = consumers_of(service, lab)
        users = {c[0].asset for c in consumers}
        rotated = any(f.asset == service.asset and is_password(f) for f, _ in placed) or any(
            is_password(f) and (f.asset, variable(f)) in {(c[0].asset, c[1]) for c in consumers}
            for f, _ in placed)
        if not rotated:
            continue
        group = {service.asset} | users
        worst = min(own.get(u, 5) for u in group)
        for unit in group:
            own.setdefault(unit, worst)
        groups.append(group)
    return groups
