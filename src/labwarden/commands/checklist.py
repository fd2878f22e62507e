"""The checklist commands: init, checklist, attest, approve, record, gate, archive, history,
diff. Each evaluates a service of the inventory the same way (`_evaluate`), so what
`checklist` shows is what `gate` decides and `archive` writes.

Heavy modules are imported inside the handlers: building the parser must stay cheap.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys

EXIT_OK, EXIT_BLOCKED, EXIT_ERROR = 0, 1, 2


def _item_status(text: str) -> str:
    """An argparse type for --status: one of the item statuses, in any case; a typo is a
    usage error, not an empty listing."""
    import argparse

    from labwarden.checklist.score import Status

    names = [s.value for s in Status]
    wanted = text.strip().upper()
    if wanted not in names:
        raise argparse.ArgumentTypeError(f"{text!r} is not an item status (choose from "
                                         f"{', '.join(names)})")
    return wanted


def add_service_command(commands, name, help_text, handler, service=True):
    """A subcommand about the inventory's services, with the options they all take
    (`service=False`: no SERVICE argument, as `attest --lab` names none)."""
    from labwarden.commands.common import iso_date

    parser = commands.add_parser(name, help=help_text)
    if service:
        parser.add_argument("service", metavar="SERVICE")
    parser.add_argument("--config", metavar="FILE", help="labwarden.yaml (default: found "
                        "in the current directory or its parents)")
    parser.add_argument("--today", metavar="DATE", type=iso_date, help=argparse_suppress())
    live = parser.add_argument_group("live evidence")
    live.add_argument("--live", action="store_true", help="also probe the service's URLs "
                      "and host (TLS, headers, SSH…) for evidence")
    live.add_argument("--ca-file", metavar="FILE", help="trust this CA for its URLs")
    live.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS")
    live.add_argument("--ssh-key", metavar="FILE", help="read its host over SSH")
    parser.set_defaults(handler=handler)
    return parser


def register(commands) -> None:
    """The checklist commands; `attest` registers itself (commands/attest.py), after them."""
    from labwarden.commands.common import whole_number

    init = commands.add_parser("init", help="propose an inventory from the Compose projects")
    init.add_argument("path", nargs="?", default=".")
    init.add_argument("--write", action="store_true",
                      help="write labwarden.yaml when it does not exist yet")
    init.set_defaults(handler=cmd_init)

    def service_command(name, help_text, handler):
        return add_service_command(commands, name, help_text, handler)

    checklist = service_command("checklist", "every checklist item of a service, answered",
                                cmd_checklist)
    checklist.add_argument("--format", choices=("terminal", "markdown", "json"),
                           default="terminal")
    checklist.add_argument("--status", action="append", metavar="STATUS", type=_item_status,
                           help="show only items with this status (PASS, FAIL, ATTESTED, "
                           "N/A, OPEN; repeatable)")

    approve = service_command("approve", "record a sign-off (approval signatures)",
                              cmd_approve)
    approve.add_argument("--role", required=True,
                         choices=("service_owner", "security_reviewer", "infrastructure_owner"))
    approve.add_argument("--name", required=True)
    approve.add_argument("--date", default="", metavar="DATE")

    record = service_command("record", "record the deployment (date, method, status…)",
                             cmd_record)
    record.add_argument("--date", default="", metavar="DATE")
    record.add_argument("--method", required=True, choices=("manual", "ansible", "ci_cd"))
    record.add_argument("--status", required=True, choices=("success", "failed", "rolled_back"))
    record.add_argument("--issues", default="")
    record.add_argument("--lessons", default="")

    gate = service_command("gate", "exit 0 when the policy allows deploying, 1 when not",
                           cmd_gate)
    gate.add_argument("--format", choices=("terminal", "json"), default="terminal")

    archive = service_command("archive", "write the completed checklist as a deployment "
                              "record", cmd_archive)
    archive.add_argument("--overwrite", action="store_true",
                         help="replace today's record if it exists")

    history = service_command("history", "score and risk level over time", cmd_history)
    history.add_argument("--limit", type=whole_number(1, 1_000_000), default=20)

    diff = commands.add_parser("diff", help="findings new, fixed and persisting between runs")
    diff.add_argument("runs", nargs="*", type=whole_number(1, 2 ** 63 - 1), metavar="RUN",
                      help="two run IDs (default: the last two runs)")
    diff.add_argument("--service", help="the last two runs of this service")
    diff.add_argument("--config", metavar="FILE")
    diff.set_defaults(handler=cmd_diff)


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


# --- shared -------------------------------------------------------------------------------

class _Context:
    def __init__(self, args):
        from labwarden.config import ConfigError, find_config, load_config
        from labwarden.inventory import load_inventory

        path = getattr(args, "config", None) or find_config(["."])
        if path is None:
            raise ConfigError("no labwarden.yaml here or in a parent directory "
                              "(`labwarden init --write` proposes one)")
        self.config = load_config(path)
        self.inventory = load_inventory(self.config)
        self.today = getattr(args, "today", None) or dt.date.today()
        self.args = args

    def book(self):
        """The attestation file, checked against this inventory and catalogue."""
        from labwarden.checklist.attest import AttestationBook
        from labwarden.checklist.catalog import load_catalog

        return AttestationBook(self.inventory.attestations_path, inventory=self.inventory,
                               catalog=load_catalog(), today=self.today)

    def evaluate(self, name: str, store: bool = True):
        service = self.inventory.service(name)
        return self.evaluate_from(service, self.audit([service]), store=store)

    def audit(self, services):
        """One audit of the lab (plus the live targets of `services` with --live), from
        which each of them is evaluated: `attest --lab` checks every service at once."""
        from labwarden.audit import AuditOptions, run

        targets, probe = self._live_targets(services)
        result = run([self.inventory.base_dir], AuditOptions(
            config=self.config, today=self.today, targets=targets, probe=probe))
        return result, targets, probe

    def evaluate_from(self, service, audit, book=None, store: bool = False):
        from labwarden.checklist.catalog import load_catalog
        from labwarden.checklist.evaluate import compose_facts, evaluate, live_coverage

        result, targets, probe = audit
        covered = compose_facts() if service.compose_dir else set()
        if targets:
            covered |= live_coverage(service, result, targets, probe)
        record = (book or self.book()).record_for(service)
        evaluation = evaluate(service, result, record, load_catalog(),
                              self.inventory.base_dir, disabled=self.config.disabled,
                              covered=covered, today=self.today)
        if store:
            self._store(evaluation, result)
        return evaluation

    def _live_targets(self, services):
        if not getattr(self.args, "live", False):
            return [], None
        from labwarden.audit.live import parse_targets
        from labwarden.sources.live.collect import ProbeOptions

        texts: list[str] = []
        for service in services:
            texts += [u for u in service.urls if u not in texts]
            if service.host is not None and service.host.address \
                    and service.host.address not in texts:
                texts.append(service.host.address)
        options = ProbeOptions(timeout=self.args.timeout, ca_file=self.args.ca_file,
                               ssh_key=self.args.ssh_key)
        try:
            return parse_targets(texts), options
        except ValueError as exc:
            from labwarden.config import ConfigError

            names = ", ".join(s.name for s in services)
            raise ConfigError(f"service {names}: {exc}") from None

    def _store(self, evaluation, result) -> None:
        from labwarden.model import AuditResult
        from labwarden.store import Store

        mine = AuditResult(findings=evaluation.findings, diagnostics=[], targets=result.targets,
                           started=result.started, duration_s=result.duration_s)
        overall = evaluation.score.overall
        with Store(self.inventory.history_path) as store:
            store.record(mine, service=evaluation.service.name, score=overall.percent,
                         risk=evaluation.score.risk, items_total=overall.total,
                         items_completed=overall.completed)


def _run(handler, args) -> int:
    """Run a command. Its ConfigError and StoreError are reported by `cli.guarded`, which
    runs every command, as one line each and exit 2; a refused write is reported here."""
    from labwarden.fsio import WriteRefused

    try:
        return handler(args)
    except WriteRefused as exc:
        sys.stderr.write(f"labwarden: {exc}\n")
        return EXIT_ERROR


def _out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _terminal(lines: list[str]) -> str:
    """Lines for the terminal: names, notes and messages quote files anyone may have
    written, so each line passes `escape.terminal` and stays one line."""
    from labwarden.report.escape import terminal_lines

    return terminal_lines(lines)


# --- commands -----------------------------------------------------------------------------

def cmd_init(args) -> int:
    return _run(_init, args)


def _init(args) -> int:
    from labwarden import fsio
    from labwarden.errors import UsageError
    from labwarden.sources.compose.discover import discover

    if not os.path.isdir(args.path):
        raise UsageError(f"init {args.path}: " + ("is not a directory (init proposes the "
                         "inventory of the Compose projects under a directory)"
                         if os.path.exists(args.path) else "no such directory"))
    specs = discover([args.path], [])
    if not specs:                         # an inventory of nothing is no proposal
        raise UsageError(f"init {args.path}: no Compose project found under it")
    base = os.path.abspath(args.path)
    proposal = _proposal(specs, base)
    if not args.write:
        _out(proposal)
        return EXIT_OK
    target = fsio.child(base, "labwarden.yaml")
    with fsio.locked(target):
        # Loaded back the way every later command will load it, before it exists.
        if not fsio.create(target, proposal, check=_loads_as_inventory):
            sys.stderr.write(f"labwarden: {target} exists; not overwritten. The proposal:\n")
            _out(proposal)
            return EXIT_ERROR
    _out(f"wrote {target}")
    return EXIT_OK


def _proposal(specs: list, base: str) -> str:
    """`labwarden init`: the inventory for the Compose projects `specs`, as YAML the YAML
    library wrote (a project named `a: b #c` stays a string), one service per project under
    a name unique in the file."""
    import yaml

    services: dict[str, dict] = {}
    for spec in specs:
        name = _unique(_service_name(spec.key), services)
        services[name] = {"deployment_type": "docker", "deployment_date": dt.date.today(),
                          "owner": "TODO", "purpose": "TODO", "criticality": "medium",
                          "data_classification": "internal",
                          "compose": os.path.relpath(spec.directory, base),
                          "exposure": "internal"}
    header = ("# Proposed by `labwarden init`: complete the owner, purpose, criticality and\n"
              "# data classification of each service (the seed's Service Information).\n")
    return header + yaml.safe_dump({"services": services}, sort_keys=False,
                                   allow_unicode=True, width=1 << 30)


def _service_name(key: str) -> str:
    """A project's path as a service name that is also a safe file name (records are named
    after it): letters, digits, `.`, `_` and `-`."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", key)
    return re.sub(r"\.{2,}", ".", name).strip("-.") or "service"   # `..` is never a name


def _unique(name: str, taken) -> str:
    number, candidate = 2, name
    while candidate in taken:
        candidate, number = f"{name}-{number}", number + 1
    return candidate


def _loads_as_inventory(path: str) -> None:
    from labwarden.config import ConfigError, load_config
    from labwarden.inventory import load_inventory

    try:
        load_inventory(load_config(path))
    except ConfigError as exc:
        raise ConfigError(f"labwarden init: the proposal does not load back, nothing "
                          f"written ({exc})") from None


def cmd_checklist(args) -> int:
    return _run(_checklist, args)


def _checklist(args) -> int:
    from labwarden.checklist.catalog import load_catalog

    context = _Context(args)
    evaluation = context.evaluate(args.service)
    if args.format == "markdown":
        from labwarden.checklist.records import render_record

        _out(render_record(evaluation, load_catalog()))
    elif args.format == "json":
        _out(json.dumps(_evaluation_json(evaluation), indent=2))
    else:
        wanted = {s.upper() for s in args.status} if args.status else None
        _out(_checklist_text(evaluation, load_catalog(), wanted))
    return EXIT_OK


def _checklist_text(evaluation, catalog, wanted) -> str:
    lines = [f"Checklist for {evaluation.service.name} "
             f"({evaluation.service.deployment_type}), {evaluation.evaluated}", ""]
    results = evaluation.by_id()
    for section in catalog.sections:
        tally = evaluation.score.sections[section.id]
        shown = [results[i.id] for i in section.items
                 if wanted is None or results[i.id].status.value in wanted]
        if not shown:
            continue
        lines.append(f"{section.id}. {section.title}  {tally.completed}/{tally.total} "
                     f"({tally.percent:.0f} %)")
        for result in shown:
            lines.append(f"  {result.item.id:<7} {result.status.value:<8} "
                         f"{result.item.severity.name:<8} {result.item.text}")
            if result.note and result.status.value != "OPEN" or result.note.startswith(
                    ("attestation", "evidence")):
                lines.append(f"  {'':<7} {'':<8} {'':<8} → {result.note}")
        lines.append("")
    lines += _score_lines(evaluation)
    return _terminal(lines)


def _score_lines(evaluation) -> list[str]:
    score = evaluation.score
    overall = score.overall
    counts: dict[str, int] = {}
    for result in evaluation.items:
        counts[result.status.value] = counts.get(result.status.value, 0) + 1
    return [f"Score: {overall.completed}/{overall.total} items complete "
            f"({overall.percent:.1f} %), {overall.na} N/A · "
            + " · ".join(f"{k} {v}" for k, v in sorted(counts.items())),
            f"Risk level: {score.risk} — {score.risk_text}"]


def _evaluation_json(evaluation) -> dict:
    score = evaluation.score
    return {
        "service": evaluation.service.name,
        "evaluated": evaluation.evaluated,
        "score": {"total": score.overall.total, "completed": score.overall.completed,
                  "na": score.overall.na, "percent": round(score.overall.percent, 2),
                  "sections": {k: {"total": t.total, "completed": t.completed, "na": t.na,
                                   "percent": round(t.percent, 2)}
                               for k, t in score.sections.items()}},
        "risk": score.risk,
        "reasons": score.reasons,
        "items": [{"id": r.item.id, "status": r.status.value, "severity": r.item.severity.name,
                   "text": r.item.text, "note": r.note, "rules": list(r.rules),
                   "findings": [f.id for f in r.findings]} for r in evaluation.items],
    }


def _iso(text: str, option: str) -> str:
    from labwarden.config import ConfigError

    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise ConfigError(f"{option} must be a date (YYYY-MM-DD), not {text!r}") from None


def cmd_approve(args) -> int:
    return _run(_approve, args)


def _approve(args) -> int:
    from labwarden.checklist.attest import Approval

    context = _Context(args)
    context.inventory.service(args.service)
    date = _iso(args.date, "--date") if args.date else context.today.isoformat()
    context.book().approve(args.service, Approval(args.role, args.name, date))
    _out(f"{args.service}: {args.role} sign-off by {args.name} on {date} recorded")
    return EXIT_OK


def cmd_record(args) -> int:
    return _run(_record, args)


def _record(args) -> int:
    from labwarden.checklist.attest import Deployment

    context = _Context(args)
    context.inventory.service(args.service)
    date = _iso(args.date, "--date") if args.date else context.today.isoformat()
    context.book().set_deployment(args.service, Deployment(date, args.method, args.status,
                                                           args.issues, args.lessons))
    _out(f"{args.service}: deployment of {date} recorded ({args.method}, {args.status})")
    return EXIT_OK


def cmd_gate(args) -> int:
    return _run(_gate, args)


def _gate(args) -> int:
    from labwarden.checklist.gate import decide, load_policy

    context = _Context(args)
    policy = load_policy(context.config.raw)
    evaluation = context.evaluate(args.service)
    decision = decide(evaluation, policy)
    if args.format == "json":
        _out(json.dumps({"service": args.service, "allowed": decision.allowed,
                         "risk": decision.risk, "reasons": decision.reasons,
                         "blocking_items": decision.blocking}, indent=2))
    else:
        verdict = "GO" if decision.allowed else "NO-GO"
        lines = [f"{verdict}: {args.service} at {decision.risk} risk"]
        lines += [f"  - {reason}" for reason in decision.reasons]
        if decision.blocking and not decision.allowed:
            results = evaluation.by_id()
            lines.append("  blocking items (CRITICAL and HIGH, incomplete):")
            for item_id in decision.blocking[:25]:
                result = results[item_id]
                lines.append(f"    {item_id} {result.status.value:<6} {result.item.text}")
            if len(decision.blocking) > 25:
                lines.append(f"    … and {len(decision.blocking) - 25} more")
        _out(_terminal(lines))
    return EXIT_OK if decision.allowed else EXIT_BLOCKED


def cmd_archive(args) -> int:
    return _run(_archive, args)


def _archive(args) -> int:
    from labwarden.checklist.catalog import load_catalog
    from labwarden.checklist.records import RecordExists, archive

    context = _Context(args)
    evaluation = context.evaluate(args.service)
    try:
        path = archive(evaluation, load_catalog(), context.inventory.records_dir,
                       context.today.isoformat(), overwrite=args.overwrite)
    except RecordExists as exc:
        sys.stderr.write(f"labwarden: {exc}\n")
        return EXIT_ERROR
    _out(f"archived {os.path.relpath(path)}")
    return EXIT_OK


def cmd_history(args) -> int:
    return _run(_history, args)


def _history(args) -> int:
    from labwarden.store import Store

    context = _Context(args)
    context.inventory.service(args.service)
    with Store(context.inventory.history_path) as store:
        runs = store.runs(args.service, limit=args.limit)
    if not runs:
        _out(f"no evaluations of {args.service} yet (`labwarden checklist {args.service}`)")
        return EXIT_OK
    lines = [f"{'run':>5}  {'when':<25} {'score':>7}  {'risk':<12} findings"]
    for run in runs:
        score = "-" if run.score is None else f"{run.score:.1f} %"
        counts = ", ".join(f"{k.lower()} {v}" for k, v in run.counts.items() if v) or "none"
        lines.append(f"{run.id:>5}  {run.started:<25} {score:>7}  {run.risk or '-':<12} "
                     f"{counts}")
    _out(_terminal(lines))
    return EXIT_OK


def cmd_diff(args) -> int:
    return _run(_diff, args)


def _diff(args) -> int:
    from labwarden.config import ConfigError
    from labwarden.store import Store

    context = _Context(args)
    if args.service is not None:
        context.inventory.service(args.service)
    with Store(context.inventory.history_path) as store:
        if len(args.runs) == 2:
            old, new = args.runs
        elif not args.runs:
            runs = store.runs(args.service, limit=2)
            if len(runs) < 2:
                raise ConfigError("diff needs two runs; evaluate the service twice first")
            old, new = runs[0].id, runs[1].id
        else:
            raise ConfigError("diff takes two run IDs, or none for the last two runs")
        result = store.diff(old, new)
    lines = [f"run {old} → run {new}: {len(result.new)} new, {len(result.fixed)} fixed, "
             f"{len(result.persisting)} persisting"]
    for title, rows in (("new", result.new), ("fixed", result.fixed)):
        for row in rows:
            lines.append(f"  {title:<6} {row.severity:<8} {row.rule_id} {row.asset} "
                         f"{row.message}")
    _out(_terminal(lines))
    return EXIT_OK
