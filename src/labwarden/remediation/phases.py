"""Which phase each restart happens in, and the order of the steps within a phase.

Phases: 1 immediate fixes that restart nothing (permissions, leaked files, monitoring
rules); 2 CRITICAL fixes that need a restart; 3 HIGH; 4 MEDIUM and LOW hardening.

Each unit restarts once, in the earliest phase one of its fixes needs. A dependency then
moves forward to the earliest phase of anything that depends on it, taking its other fixes
along: the database's MEDIUM hardening is done in phase 2 when the application that uses
it is fixed in phase 2, so that the application restarts once, after the database has
reached its final state, instead of twice. Units that must change together (a password
rotated in the database and in each of its consumers; the services of one project-level
change) share a phase.
"""

from __future__ import annotations

from labwarden.model import Severity

PHASES = {
    1: "Immediate fixes, no downtime",
    2: "CRITICAL fixes that need a restart",
    3: "HIGH fixes",
    4: "MEDIUM and LOW hardening",
}


def own_phase(finding, restarts: bool) -> int:
    if not restarts:
        return 1
    if finding.severity >= Severity.CRITICAL:
        return 2
    if finding.severity >= Severity.HIGH:
        return 3
    return 4


def assign(own: dict[str, int], lab, together: list[set[str]]) -> tuple[dict[str, int],
                                                                          dict[str, str]]:
    """The phase of each restarting unit, and for each one moved forward, why."""
    phase = dict(own)
    why: dict[str, str] = {}
    changed = True
    while changed:                   # phases only decrease: this ends
        changed = False
        for dependant in phase:
            for dependency in _restarting_dependencies(dependant, lab, phase):
                if phase[dependant] < phase[dependency]:
                    why[dependency] = (f"moved from phase {own[dependency]}: "
                                       f"{_label(dependant)} depends on it "
                                       f"({lab.reasons.get((dependant, dependency), 'host')}) "
                                       f"and restarts in phase {phase[dependant]}")
                    phase[dependency] = phase[dependant]
                    changed = True
        for group in together:
            members = [u for u in group if u in phase]
            if not members:
                continue
            low = min(phase[u] for u in members)
            for unit in members:
                if phase[unit] > low:
                    others = ", ".join(_label(u) for u in sorted(group) if u != unit)
                    why.setdefault(unit, f"moved from phase {own[unit]}: changes together "
                                         f"with {others}")
                    phase[unit] = low
                    changed = True
    return phase, why


def _restarting_dependencies(unit: str, lab, phase: dict) -> set[str]:
    """The restarting units `unit` depends on, through units that do not restart."""
    found: set[str] = set()
    stack, seen = list(lab.dependencies(unit)), {unit}
    while stack:
        other = stack.pop()
        if other in seen:
            continue
        seen.add(other)
        if other in phase:
            found.add(other)
        else:
            stack.extend(lab.dependencies(other))
    return found


def order_steps(steps: list, lab) -> list:
    """The steps of one phase, each after every step whose units its own depend on
    (dependencies first; ties by label). A cycle between stacks is cut at the step with
    the smallest label, and the step says so."""
    owner = {unit: step for step in steps for unit in step.units}
    after: dict[int, set[int]] = {id(s): set() for s in steps}
    for step in steps:
        for unit in step.units:
            for dependency in _restarting_dependencies(unit, lab, owner):
                other = owner[dependency]
                if other is not step:
                    after[id(step)].add(id(other))
    ordered: list = []
    placed: set[int] = set()
    # Among steps free to go, a reverse proxy's last: when the audit kept no proxy facts
    # (a Markdown report), its upstreams are not known, and it resolves them on restart.
    remaining = sorted(steps, key=lambda s: (_runs_a_proxy(s, lab), s.label))
    while remaining:
        ready = [s for s in remaining if after[id(s)] <= placed]
        if not ready:               # a cycle: take the first, say why
            ready = remaining[:1]
            ready[0].notes.append("restarts before a stack it depends on (the dependency "
                                  "goes both ways): check it again after this phase")
        step = ready[0]
        ordered.append(step)
        placed.add(id(step))
        remaining.remove(step)
    return ordered


def _runs_a_proxy(step, lab) -> bool:
    return any(getattr(lab.services.get(u), "kind", "") == "proxy" for u in step.units)


def in_order(units: dict[str, str], lab) -> dict[str, str]:
    """A step's units, each after the units of the step it depends on (then by name): the
    order the step restarts them in."""
    placed: dict[str, str] = {}
    remaining = sorted(units)
    while remaining:
        ready = [u for u in remaining
                 if not (_restarting_dependencies(u, lab, units) - set(placed) - {u})]
        unit = (ready or remaining)[0]          # a cycle: the first by name
        placed[unit] = units[unit]
        remaining.remove(unit)
    return placed


def violations(roadmap, lab) -> list[str]:
    """Every place where the plan restarts a dependant before its dependency's final
    state: a unit restarted by two steps, or a dependency restarted by a later step than
    its dependant. Empty for a sound plan (what the tests check)."""
    position: dict[str, int] = {}
    problems = []
    index = 0
    for phase in roadmap.phases:
        for step in phase.steps:
            index += 1
            for unit, action in step.units.items():
                if action == "none":
                    continue
                if unit in position:
                    problems.append(f"{unit} restarts in two steps")
                position[unit] = index
    for dependant, at in position.items():
        for dependency in _restarting_dependencies(dependant, lab, position):
            if position[dependency] > at:
                problems.append(f"{_label(dependant)} (step {at}) restarts before "
                                f"{_label(dependency)} (step {position[dependency]})")
    return problems


def _label(unit: str) -> str:
    return unit.split(":", 1)[-1] if unit.startswith("compose:") else unit
