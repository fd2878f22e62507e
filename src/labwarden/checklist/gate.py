"""The go/no-go gate: whether a service may deploy at its risk level.

Default policy (labwarden.yaml `gate:`): Low and Medium deploy; High deploys only with a
recorded security sign-off (`labwarden approve SERVICE --role security_reviewer`);
Unacceptable never, whatever the configuration says.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from labwarden.config import ConfigError
from labwarden.sources.yamlfile import Map, Seq

LEVELS = ("Low", "Medium", "High", "Unacceptable")


@dataclass(frozen=True)
class GatePolicy:
    deploy: frozenset[str] = frozenset({"Low", "Medium"})
    with_signoff: frozenset[str] = frozenset({"High"})


@dataclass
class GateDecision:
    allowed: bool
    risk: str
    reasons: list[str] = field(default_factory=list)
    blocking: list[str] = field(default_factory=list)   # item IDs that hold the risk up


def load_policy(raw: Map) -> GatePolicy:
    spec = raw.get("gate")
    if spec is None:
        return GatePolicy()
    if not isinstance(spec, Map):
        raise ConfigError("`gate` must be a mapping", raw.loc_of("gate"))
    values = {}
    for key in ("deploy", "with_signoff"):
        if key not in spec:
            continue
        items = spec[key] if isinstance(spec[key], Seq) else [spec[key]]
        levels = set()
        for level in items:
            name = str(level).strip().capitalize()
            if name not in LEVELS:
                raise ConfigError(f"gate.{key}: {level!r} is not a risk level "
                                  f"({', '.join(LEVELS)})", spec.loc_of(key))
            if name == "Unacceptable":
                raise ConfigError("gate: an Unacceptable risk level never deploys",
                                  spec.loc_of(key))
            levels.add(name)
        values[key] = frozenset(levels)
    return GatePolicy(**values)


def decide(evaluation, policy: GatePolicy) -> GateDecision:
    from labwarden.checklist.score import format_percent
    from labwarden.model import Severity

    score = evaluation.score
    risk = score.risk
    blocking = [i for s in (Severity.CRITICAL, Severity.HIGH)
                for i in score.incomplete.get(s, [])]
    reasons = [f"risk level {risk}: {score.overall.completed}/{score.overall.total} items "
               f"complete ({format_percent(score.overall.percent)})"] + score.reasons
    if risk in policy.deploy:
        return GateDecision(True, risk, reasons + [f"policy deploys at {risk} risk"], blocking)
    if risk in policy.with_signoff:
        signoff = evaluation.record.approvals.get("security_reviewer")
        if signoff is not None:
            return GateDecision(True, risk, reasons + [
                f"policy deploys at {risk} risk with a security sign-off: {signoff.name} on "
                f"{signoff.date}"], blocking)
        return GateDecision(False, risk, reasons + [
            f"policy needs a security sign-off at {risk} risk: `labwarden approve "
            f"{evaluation.service.name} --role security_reviewer --name NAME`"], blocking)
    return GateDecision(False, risk, reasons + [f"policy never deploys at {risk} risk"],
                       blocking)
