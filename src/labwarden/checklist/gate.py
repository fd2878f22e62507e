"""The go/no-go gate: whether a service may deploy at its risk level.

Default policy (labwarden.yaml `gate:`): Low and Medium deploy; High deploys only with a
recorded security sign-off (`labwarden approve SERVICE --role security_reviewer`);
Unacceptable never, whatever the configuration says.

A sign-off counts only while it holds for the state it approved (checklist/signoff.py), and
only when its approver did not attest the items it covers, unless `gate.single_operator`
(the default: a homelab often has one person) allows it; then it is shown as a
self-approval.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from labwarden.checklist.signoff import SignoffStatus, security_signoff
from labwarden.config import ConfigError
from labwarden.model import Severity
from labwarden.sources.yamlfile import Map, Seq

LEVELS = ("Low", "Medium", "High", "Unacceptable")


@dataclass(frozen=True)
class GatePolicy:
    deploy: frozenset[str] = frozenset({"Low", "Medium"})
    with_signoff: frozenset[str] = frozenset({"High"})
    single_operator: bool = True      # may the security reviewer sign off their own word?
    threshold: Severity = Severity.HIGH   # findings a sign-off binds: policy.fail_on


@dataclass
class GateDecision:
    allowed: bool
    risk: str
    reasons: list[str] = field(default_factory=list)
    blocking: list[str] = field(default_factory=list)   # item IDs that hold the risk up
    signoff: SignoffStatus | None = None                 # the security sign-off, judged


def load_policy(raw: Map) -> GatePolicy:
    policy = raw.get("policy")
    fail_on = policy.get("fail_on") if isinstance(policy, Map) else None
    threshold = Severity.parse(str(fail_on)) if fail_on else Severity.HIGH  # checked at load
    spec = raw.get("gate")
    if spec is None:
        return GatePolicy(threshold=threshold)
    if not isinstance(spec, Map):
        raise ConfigError("`gate` must be a mapping", raw.loc_of("gate"))
    values: dict = {"threshold": threshold}
    if "single_operator" in spec:
        values["single_operator"] = spec["single_operator"] is True   # the schema: a flag
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

    score = evaluation.score
    risk = score.risk
    blocking = [i for s in (Severity.CRITICAL, Severity.HIGH)
                for i in score.incomplete.get(s, [])]
    reasons = [f"risk level {risk}: {score.overall.completed}/{score.overall.total} items "
               f"complete ({format_percent(score.overall.percent)})"] + score.reasons
    signoff = security_signoff(evaluation)
    if risk in policy.deploy:
        return GateDecision(True, risk, reasons + [f"policy deploys at {risk} risk"]
                            + _signoff_lines(signoff, policy), blocking, signoff)
    if risk in policy.with_signoff:
        approve = (f"`labwarden approve {evaluation.service.name} --role security_reviewer "
                   "--name NAME`")
        if signoff is None:
            return GateDecision(False, risk, reasons + [
                f"policy needs a security sign-off at {risk} risk: {approve}"], blocking)
        if not signoff.current:
            return GateDecision(False, risk, reasons + [
                f"policy needs a security sign-off at {risk} risk; the "
                f"{signoff.summary()} (re-approve: {approve})"], blocking, signoff)
        if signoff.self_approved and not policy.single_operator:
            return GateDecision(False, risk, reasons + [
                f"policy needs a security sign-off at {risk} risk by someone other than who "
                f"attested the items it covers; self-approved: {signoff.self_approval()}, and "
                "gate.single_operator is false"], blocking, signoff)
        return GateDecision(True, risk, reasons + [
            f"policy deploys at {risk} risk with a security sign-off: {signoff.summary()}"]
            + _signoff_lines(signoff, policy, shown=False), blocking, signoff)
    return GateDecision(False, risk, reasons + [f"policy never deploys at {risk} risk"]
                        + _signoff_lines(signoff, policy), blocking, signoff)


def _signoff_lines(signoff: SignoffStatus | None, policy: GatePolicy,
                   shown: bool = True) -> list[str]:
    """What the gate says about a sign-off it did not need (`shown`) or accepted."""
    if signoff is None:
        return []
    lines = [signoff.summary()] if shown else []
    if signoff.self_approved:
        lines.append(("self-approved (single operator): " if policy.single_operator else
                      "self-approved, which gate.single_operator: false refuses: ")
                     + signoff.self_approval())
    return lines
