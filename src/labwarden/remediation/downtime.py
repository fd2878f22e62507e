"""Downtime (what the lab's users notice) apart from work time (what the operator spends).

Downtime comes from what restarts, never from how long a fix takes to write: a container
is recreated in the time its kind of image takes to stop and start again. One
`docker compose up -d` recreates a stack's changed services in dependency order, so a
step's downtime is its longest chain of recreated services (an application is unusable
while its database restarts, then while it restarts itself), not the sum of all of them.
A reload (sshd, a firewall, a proxy's routes) drops no connection: no downtime.

Work time is the rules' own estimate of applying and checking a fix (`Impact`), plus a
few minutes per step to run it and check the result.

labwarden.yaml overrides both tables of minutes:

    remediation:
      recreate_minutes: {database: [1, 3]}    # per kind of image (KINDS below)
      restart_minutes: {"paperless/db": [2, 6]}   # per service: a glob over project/service
"""

from __future__ import annotations

import fnmatch

# Minutes a container of each kind takes to be recreated (stop, create, start, ready),
# low and high. A database flushes and replays its log; a cache reloads its snapshot; an
# application connects to both and may run migrations; an agent just starts.
KINDS: dict[str, tuple[float, float]] = {
    "database": (1.0, 2.0),
    "cache": (0.25, 0.5),
    "proxy": (0.25, 0.5),
    "application": (0.5, 1.5),
    "agent": (0.1, 0.25),
}
# Host-level restarts: every container on the host goes down with them.
HOST_ACTIONS: dict[str, tuple[float, float]] = {"daemon": (1.0, 3.0), "reboot": (3.0, 8.0)}
STEP_WORK = (1.0, 3.0)     # run the step's commands and its checks


class Estimator:
    def __init__(self, lab, kinds: dict[str, tuple[float, float]] | None = None,
                 services: dict[str, tuple[float, float]] | None = None):
        self.lab = lab
        self.kinds = {**KINDS, **(kinds or {})}
        self.services = services or {}

    def unit(self, unit: str, action: str) -> tuple[tuple[float, float], str]:
        """(minutes, basis) of restarting one unit."""
        if action in ("none", "reload"):
            return (0.0, 0.0), f"{_label(unit)}: {action}, no downtime"
        if action in HOST_ACTIONS:
            span = HOST_ACTIONS[action]
            what = "Docker daemon restart" if action == "daemon" else "reboot"
            return span, f"{_label(unit)}: {what} {minutes(span)}"
        label = _label(unit)
        for pattern, span in self.services.items():
            if fnmatch.fnmatchcase(label, pattern):
                return span, f"{label}: recreate {minutes(span)} (restart_minutes {pattern!r})"
        service = self.lab.services.get(unit)
        kind = service.kind if service else "application"
        span = self.kinds.get(kind, self.kinds["application"])
        return span, f"{label}: {kind}, recreate {minutes(span)}"

    def step(self, units: dict[str, str]) -> tuple[tuple[float, float], list[str]]:
        """A step's downtime: the longest dependency chain of what it restarts."""
        spans = {u: self.unit(u, a) for u, a in units.items()}
        host = [spans[u][0] for u, a in units.items() if a in HOST_ACTIONS]
        memo: dict[str, tuple[float, float]] = {}

        def chain(unit: str, seen: frozenset) -> tuple[float, float]:
            if unit in memo:
                return memo[unit]
            # In their order: on a dependency cycle (which Compose refuses) the memo holds
            # whichever path came first, and the same one on every run.
            below = [chain(d, seen | {unit}) for d in sorted(self.lab.dependencies(unit))
                     if d in units and d not in seen]
            own = spans[unit][0]
            low = own[0] + max((b[0] for b in below), default=0.0)
            high = own[1] + max((b[1] for b in below), default=0.0)
            memo[unit] = (low, high)
            return memo[unit]

        chains = [chain(u, frozenset()) for u in units if units[u] not in HOST_ACTIONS]
        low = max([c[0] for c in chains] + [h[0] for h in host], default=0.0)
        high = max([c[1] for c in chains] + [h[1] for h in host], default=0.0)
        return (round(low, 2), round(high, 2)), [spans[u][1] for u in sorted(units)]


def work_time(findings, restarts: bool) -> tuple[float, float]:
    """The operator's minutes: each fix as its rule estimates it, and running the step."""
    low = sum(max(f.rule.impact.downtime_min[0], 0.5) for f in findings)
    high = sum(max(f.rule.impact.downtime_min[1], 1.0) for f in findings)
    if restarts:
        low, high = low + STEP_WORK[0], high + STEP_WORK[1]
    return (low, high)


def _label(unit: str) -> str:
    return unit.split(":", 1)[-1] if unit.startswith("compose:") else unit


def minutes(span: tuple[float, float]) -> str:
    low, high = span
    return f"{low:g} min" if low == high else f"{low:g}-{high:g} min"
