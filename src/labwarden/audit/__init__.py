"""The audit pipeline: inputs → sources → facts → rules → suppressions and waivers → result.

`run()` is the one public entry: the CLI's `audit` and `scripts`, `fix`, `roadmap` and the
checklist commands all call it. What it is asked decides the stages:

- Compose paths and `-f` files (`audit.compose`): projects loaded the way `docker compose`
  loads them, in forked workers for large trees; then the rules over the whole tree;
- live targets (`audit.live`): the probes the source table calls for each target's scheme;
- shell scripts (`audit.scripts`, with `ScriptAuditOptions`): syntax, ShellCheck, the SCR
  rules, and the container names they use checked against the lab's Compose projects.

Every stage hands its facts to one `runner.RuleRunner` and ends in `runner.conclude`
(waivers, redaction of diagnostics, numbering), so findings share IDs, suppressions,
reports and exit codes whatever their source.
"""

from __future__ import annotations

from labwarden.audit.compose import AuditOptions
from labwarden.audit.runner import exit_code, number, sort_key
from labwarden.model import AuditResult

# Each options class names its stage (`options.stage`); modules by path, loaded on use: an
# audit of Compose files never imports the script parser.
_STAGES = {"compose": ("labwarden.audit.compose", "audit"),
           "scripts": ("labwarden.audit.scripts", "audit_scripts")}


def run(paths: list[str], options=None) -> AuditResult:
    """Audit `paths` (and the targets and `-f` files `options` names). With
    `ScriptAuditOptions` the paths are shell scripts or folders of them."""
    from importlib import import_module

    module, function = _STAGES[getattr(options, "stage", "compose")]
    return getattr(import_module(module), function)(paths, options)


__all__ = ["AuditOptions", "AuditResult", "exit_code", "number", "run", "sort_key"]
