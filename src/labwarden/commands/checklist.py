"""The checklist commands: init, checklist, attest, approve, record, gate, archive, history,
diff. Each evaluates a service of the inventory the same way (`_evaluate`), so what
`checklist` shows is what `gate` decides and `archive` writes.

Heavy modules are imported inside the handlers: building the parser must stay cheap.
"""

from __future__ import annotations

import datetime as dt
import functools
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


def add_service_command(commands, name, help_text, handler, service=True, live=True):
    """A subcommand about the inventory's services, with the options they all take
    (`service=False`: no SERVICE argument, as `attest --lab` names none; `live=False`: no
    live-evidence options, for a command that evaluates nothing, as `history`)."""
    from labwarden.commands.common import iso_date

    parser = commands.add_parser(name, help=help_text)
    if service:
        parser.add_argument("service", metavar="SERVICE",
                            help="a service of the inventory (labwarden.yaml `services:`)")
    parser.add_argument("--config", metavar="FILE", help="labwarden.yaml (default: found "
                        "in the current directory or its parents)")
    parser.add_argument("--today", metavar="DATE", type=iso_date, help=argparse_suppress())
    parser.set_defaults(handler=handler)
    if not live:
        return parser
    live = parser.add_argument_group("live evidence")
    live.add_argument("--live", action="store_true", help="also probe the service's URLs "
                      "and host (TLS, headers, SSH…) for evidence")
    live.add_argument("--ca-file", metavar="FILE", help="trust this CA for its URLs")
    live.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS",
                      help="per connection (default 5)")
    live.add_argument("--ssh-key", metavar="FILE", help="read its host over SSH")
    live.add_argument("--check-default-credentials", action="store_true",
                      help="try the vendor's default logins against its URLs (opt-in)")
    return parser


def register(commands) -> None:
    """The checklist commands; `attest` registers itself (commands/attest.py), after them."""
    from labwarden.commands.common import whole_number

    init = commands.add_parser("init", help="propose an inventory from the Compose projects")
    init.add_argument("path", nargs="?", default=".", help="the tree of Compose projects "
                      "(default: the current directory)")
    init.add_argument("--write", action="store_true",
                      help="write labwarden.yaml when it does not exist yet")
    init.set_defaults(handler=cmd_init)

    def service_command(name, help_text, handler):
        return add_service_command(commands, name, help_text, handler)

    checklist = service_command("checklist", "every checklist item of a service, answered",
                                cmd_checklist)
    checklist.add_argument("--format", choices=("terminal", "markdown", "json"),
                           default="terminal", help="output format (default: terminal)")
    checklist.add_argument("--status", action="append", metavar="STATUS", type=_item_status,
                           help="show only items with this status (PASS, FAIL, ATTESTED, "
                           "N/A, OPEN; repeatable)")
    checklist.add_argument("--coverage", action="store_true",
                           help="per section: how many items evidence answered, how many "
                           "need a source that was not collected, how many only a person can")
    checklist.add_argument("--save", action="store_true", help="add this evaluation to the "
                           "history (gate, record and archive always do; a look does not)")

    approve = service_command("approve", "record a sign-off (approval signatures)",
                              cmd_approve)
    approve.add_argument("--role", required=True,
                         choices=("service_owner", "security_reviewer", "infrastructure_owner"),
                         help="whose signature this is")
    approve.add_argument("--name", required=True, help="who signs")
    approve.add_argument("--date", default="", metavar="DATE",
                         help="YYYY-MM-DD of the approval (default: today)")

    record = service_command("record", "record the deployment (date, method, status…)",
                             cmd_record)
    record.add_argument("--date", default="", metavar="DATE",
                        help="YYYY-MM-DD of the deployment (default: today)")
    record.add_argument("--method", required=True, choices=("manual", "ansible", "ci_cd"),
                        help="how it was deployed")
    record.add_argument("--status", required=True, choices=("success", "failed", "rolled_back"),
                        help="how the deployment ended")
    record.add_argument("--issues", default="", help="problems met during the deployment")
    record.add_argument("--lessons", default="", help="what to do differently next time")
    record.add_argument("--override", default="", metavar="REASON",
                        help="why it was deployed although the gate says NO-GO: needed to "
                        "record a success then; stored and shown in the record")

    gate = service_command("gate", "exit 0 when the policy allows deploying, 1 when not",
                           cmd_gate)
    gate.add_argument("--format", choices=("terminal", "json"), default="terminal",
                      help="output format (default: terminal)")

    archive = service_command("archive", "write the completed checklist as a deployment "
                              "record", cmd_archive)
    # Records are never replaced (each archive adds `-2.md`, `-3.md`…); the old flag is
    # a usage error that says so, not an unknown option.
    archive.add_argument("--overwrite", action="store_true", help=argparse_suppress())

    history = add_service_command(commands, "history", "score and risk level over time",
                                  cmd_history, live=False)     # reads the history only
    history.add_argument("--limit", type=whole_number(1, 1_000_000), default=20,
                         help="the newest N runs (default 20)")

    diff = commands.add_parser("diff", help="findings new, fixed and persisting between runs")
    diff.add_argument("runs", nargs="*", type=whole_number(1, 2 ** 63 - 1), metavar="RUN",
                      help="two run IDs (default: the last two runs)")
    diff.add_argument("--service", help="the last two runs of this service")
    diff.add_argument("--config", metavar="FILE", help="labwarden.yaml, whose history is "
                      "read (default: found in the current directory or its parents)")
    diff.set_defaults(handler=cmd_diff)


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


# --- shared -------------------------------------------------------------------------------

class LabContext:
    """A lab as the checklist commands see it: its labwarden.yaml, inventory, catalogue,
    attestation file, one audit of it and the evaluations made from that. The CLI commands,
    the console and the metrics exporter all go through it, so they never disagree."""

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

    @functools.cached_property
    def catalog(self):
        """The operator's checklist: the seed's, in the lab's words, with the overlay."""
        from labwarden.checklist.overlay import catalog_for

        return catalog_for(self.config, self.inventory)

    def book(self):
        """The attestation file, checked against this inventory and catalogue."""
        from labwarden.checklist.attest import AttestationBook

        return AttestationBook(self.inventory.attestations_path, inventory=self.inventory,
                               catalog=self.catalog, today=self.today)

    def evaluate(self, name: str, store: bool = False):
        """The service's evaluation; `store` adds it to the history (gate, record, archive
        and `checklist --save` do, a look does not)."""
        service = self.inventory.service(name)
        _ = self.catalog                # a bad overlay stops the command before the audit
        result = self.audit([service])
        _say_unexamined(result, service, self.inventory)   # where a verdict is shown
        return self.evaluate_from(service, result, store=store)

    def audit(self, services):
        """One audit of the lab and of the targets of `services`, from which each of them
        is evaluated (`evaluate_from`): `attest --lab` checks every service at once."""
        from labwarden.audit import AuditOptions, run

        targets, probe = self._live_targets(services)
        # The facts are kept: an item passes on what was examined, not on what was not found.
        result = run([self.inventory.base_dir], AuditOptions(
            config=self.config, today=self.today, targets=targets, probe=probe,
            keep_facts=True))
        return result

    def evaluate_from(self, service, result, book=None, store: bool = False):
        from labwarden.checklist.evaluate import evaluate

        record = (book or self.book()).record_for(service)
        evaluation = evaluate(service, result, record, self.catalog,
                              settings=self.config.settings, disabled=self.config.disabled,
                              today=self.today)
        if store:
            self._store(evaluation, result)
        return evaluation

    def _live_targets(self, services):
        """The services' targets: a host when it is read from a file or from this machine
        (`snapshot:`, `local://`: no traffic), their backup repositories on this machine, the
        reverse proxy's files the inventory names (`proxies:`), and with --live their URLs,
        an ssh:// host, remote repositories and the proxy's API too."""
        from labwarden.audit.live import parse_targets
        from labwarden.sources.backup.config import DEFAULT
        from labwarden.sources.live.collect import ProbeOptions

        live = getattr(self.args, "live", False)
        backup = self.config.settings.backup or DEFAULT
        texts: list[str] = []
        for service in services:
            mine = list(service.urls) if live else []
            address = service.host.address if service.host is not None else None
            # A host that is a Proxmox guest: its node's files say its firewall and backups.
            node = getattr(getattr(service.host, "proxmox", None), "address", None)
            for where in (address, node):
                if where and (live or where.startswith(("snapshot:", "local:"))):
                    mine.append(where)
            mine += [text for text in service.backups
                     if live or not backup.repository(text).remote]
            docker = getattr(service.host, "docker", None) if service.host is not None \
                else None
            if docker and (live or _local_engine(docker)):   # a unix socket: no traffic
                mine.append(docker)
            texts += [t for t in mine if t not in texts]
        if live:        # the lab's Prometheus and Alertmanager APIs (its files are read anyway)
            texts += [t for t in self.inventory.monitoring_targets if t not in texts]
        # The reverse proxy's configuration: its files always, its API with --live.
        texts += [t for t in self.inventory.proxies
                  if (live or "://" not in t.partition(":")[2]) and t not in texts]
        if not texts:
            return [], None
        options = ProbeOptions(timeout=getattr(self.args, "timeout", 5.0),
                               ca_file=getattr(self.args, "ca_file", None),
                               ssh_key=getattr(self.args, "ssh_key", None),
                               check_default_credentials=getattr(
                                   self.args, "check_default_credentials", False),
                               backup=self.config.settings.backup)
        try:
            return parse_targets(texts), options
        except ValueError as exc:
            from labwarden.config import ConfigError

            names = ", ".join(s.name for s in services)
            raise ConfigError(f"service {names}: {exc}") from None

    def decide(self, evaluation):
        from labwarden.checklist.gate import decide, load_policy

        return decide(evaluation, load_policy(self.config.raw))

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


SHOWN_ERRORS = 5


def _say_unexamined(result, service, inventory) -> None:
    """What the audit behind a service's checklist could not read, on stderr: the items
    that needed it stay OPEN ("not examined"), and without this line nothing would say why.
    A problem in another Compose project of the lab touches none of this service's items
    and is left out (`labwarden audit` lists everything)."""
    # The projects read, and those the inventory names (one that failed to load has no
    # facts but is still another service's).
    projects = {origin for origin, _, _ in result.facts if origin.startswith(os.sep)} | {
        os.path.abspath(s.compose_dir) for s in inventory.services.values() if s.compose_dir}
    own = os.path.abspath(service.compose_dir) if service.compose_dir else None
    errors = [d for d in result.errors if _about(d, own, projects)]
    gaps = [d for d in result.diagnostics if d.level == "gap" and _about(d, own, projects)]
    if not errors and not gaps:
        return
    lines = [f"labwarden: the audit behind this checklist could not examine everything "
             f"({len(errors)} errors, {len(gaps)} coverage gaps); the items that needed it "
             "stay OPEN:"]
    lines += [f"  {d}" for d in (errors + gaps)[:SHOWN_ERRORS]]
    if len(errors) + len(gaps) > SHOWN_ERRORS:
        lines.append(f"  … and {len(errors) + len(gaps) - SHOWN_ERRORS} more "
                     "(`labwarden audit` lists them all)")
    sys.stderr.write("\n".join(lines) + "\n")


def _about(diagnostic, own: str | None, projects: set[str]) -> bool:
    """Whether a diagnostic may concern the service whose project folder is `own`: anything
    but a file in another Compose project's folder (`projects`: the audited ones)."""
    if diagnostic.location is None:
        return True
    path = os.path.abspath(diagnostic.location.path)
    if own and _inside(path, own):
        return True
    return not any(_inside(path, folder) for folder in projects if folder != own)


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _local_engine(address: str) -> bool:
    """A Docker Engine on a unix socket of this machine: read without --live (no traffic)."""
    from labwarden.sources.docker.address import engine_url

    try:
        return engine_url(address).startswith("unix://")
    except ValueError:
        return True              # parse_targets reports it, with the service's name


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
        # What only the operator knows (owner, purpose, criticality, data classification,
        # whether they develop it) is left out, never guessed: a guessed criticality would
        # answer checklist item 8.4.4 for them.
        services[name] = {"deployment_type": "docker", "deployment_date": dt.date.today(),
                          "compose": os.path.relpath(spec.directory, base),
                          "exposure": "internal"}
    header = ("# Proposed by `labwarden init`. Left for you to add to each service (the seed's\n"
              "# Service Information; labwarden does not guess them):\n"
              "#   owner: NAME\n"
              "#   purpose: what it is for\n"
              "#   criticality: critical | high | medium | low\n"
              "#   data_classification: public | internal | confidential | restricted\n"
              "#   source: third_party | own    (own: you develop it; code-level items apply)\n"
              "# Until then the checklist items they answer stay OPEN.\n")
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
    context = LabContext(args)
    evaluation = context.evaluate(args.service, store=args.save)
    if args.coverage:
        from labwarden.checklist.coverage import coverage, coverage_json, coverage_text

        table = coverage(evaluation, context.catalog)
        _out(json.dumps(coverage_json(table), indent=2) if args.format == "json"
             else _terminal(coverage_text(table, evaluation)))
    elif args.format == "markdown":
        from labwarden.checklist.records import render_record

        _out(render_record(evaluation, context.catalog, context.decide(evaluation)))
    elif args.format == "json":
        _out(json.dumps(_evaluation_json(evaluation, context.catalog), indent=2))
    else:
        wanted = {s.upper() for s in args.status} if args.status else None
        _out(_checklist_text(evaluation, context.catalog, wanted))
    return EXIT_OK


def _checklist_text(evaluation, catalog, wanted) -> str:
    from labwarden.checklist.score import tally_text

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
                     f"({tally_text(tally)})")
        for result in shown:
            lines.append(f"  {result.item.id:<7} {result.status.value:<8} "
                         f"{result.item.severity.name:<8} {result.item.text}")
            if result.note and result.answered_by != "person" or \
                    result.status.value != "OPEN":
                lines.append(f"  {'':<7} {'':<8} {'':<8} → {result.note}")
        lines.append("")
    lines += _score_lines(evaluation)
    lines.append(f"Catalogue: {catalog.origin}")
    return _terminal(lines)


def _score_lines(evaluation) -> list[str]:
    from labwarden.checklist.score import tally_text

    score = evaluation.score
    overall = score.overall
    counts: dict[str, int] = {}
    for result in evaluation.items:
        counts[result.status.value] = counts.get(result.status.value, 0) + 1
    return [f"Score: {overall.completed}/{overall.total} items complete "
            f"({tally_text(overall)}), {overall.na} N/A · "
            + " · ".join(f"{k} {v}" for k, v in sorted(counts.items())),
            f"Risk level: {score.risk} — {score.risk_text}"]


def _evaluation_json(evaluation, catalog) -> dict:
    from labwarden.checklist.score import tally_text

    score = evaluation.score
    # The exact percentage (never rounded across a band boundary) and the text shown for it.
    return {
        "service": evaluation.service.name,
        "evaluated": evaluation.evaluated,
        "catalogue": _catalogue_json(catalog),
        "score": {"total": score.overall.total, "completed": score.overall.completed,
                  "na": score.overall.na, "percent": score.overall.percent,
                  "percent_text": tally_text(score.overall),
                  "sections": {k: {"total": t.total, "completed": t.completed, "na": t.na,
                                   "percent": t.percent,
                                   "percent_text": tally_text(t)}
                               for k, t in score.sections.items()}},
        "risk": score.risk,
        "reasons": score.reasons,
        "items": [{"id": r.item.id, "status": r.status.value, "severity": r.item.severity.name,
                   "text": r.item.text, "note": r.note, "rules": list(r.rules),
                   "answered_by": r.answered_by, "needs": list(r.needs),
                   "findings": [f.id for f in r.findings],
                   # what the overlay did: its own item, the seed's text it renamed, or why
                   # it disabled the item (None: untouched)
                   "source": "overlay" if r.item.added else "seed",
                   "seed_text": r.item.seed_text, "disabled": r.item.disabled or None}
                  for r in evaluation.items],
    }


def _catalogue_json(catalog) -> dict:
    overlay = catalog.overlay
    return {"origin": catalog.origin, "base": catalog.base,
            "overlay": overlay.path if overlay else None,
            "overlay_sha256": overlay.sha256 if overlay else None}


def _iso(text: str, option: str) -> str:
    from labwarden.config import ConfigError

    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise ConfigError(f"{option} must be a date (YYYY-MM-DD), not {text!r}") from None


def cmd_approve(args) -> int:
    return _run(_approve, args)


def _approve(args) -> int:
    from labwarden.checklist import signoff
    from labwarden.checklist.attest import Approval
    from labwarden.checklist.gate import load_policy

    context = LabContext(args)
    policy = load_policy(context.config.raw)
    date = signoff.approval_date(args.date, context.today)
    # Bound to the state it approves: the gate says when that state is gone.
    evaluation = context.evaluate(args.service, store=False)
    approval = Approval(args.role, signoff.approver_name(args.name), date,
                        signoff.bind(evaluation, args.role, policy.threshold))
    lines, refused = signoff.approve_lines(approval, evaluation, policy.single_operator)
    if refused:
        sys.stderr.write(_terminal(lines) + "\n")
        return EXIT_BLOCKED
    context.book().approve(args.service, approval)
    _out(_terminal(lines))
    return EXIT_OK


def cmd_record(args) -> int:
    return _run(_record, args)


def _record(args) -> int:
    from labwarden.checklist.attest import Deployment
    from labwarden.checklist.records import deployment_to_record

    context = LabContext(args)
    context.inventory.service(args.service)
    date = _iso(args.date, "--date") if args.date else context.today.isoformat()
    evaluation = context.evaluate(args.service, store=True)
    decision = context.decide(evaluation)
    asked = Deployment(date, args.method, args.status, args.issues, args.lessons,
                       override=args.override.strip())   # blank is no reason
    deployment, notes, refusal = deployment_to_record(asked, decision)
    if deployment is None:
        sys.stderr.write(_terminal([f"labwarden: {args.service}: {refusal}"]) + "\n")
        return EXIT_BLOCKED
    context.book().set_deployment(args.service, deployment)
    _out(_terminal([f"{args.service}: deployment of {date} recorded ({args.method}, "
                    f"{args.status})", *notes]))
    return EXIT_OK


def cmd_gate(args) -> int:
    return _run(_gate, args)


def _gate(args) -> int:
    from labwarden.checklist.score import format_percent

    context = LabContext(args)
    evaluation = context.evaluate(args.service, store=True)
    decision = context.decide(evaluation)
    if args.format == "json":
        percent = evaluation.score.overall.percent
        _out(json.dumps({"service": args.service, "allowed": decision.allowed,
                         "risk": decision.risk, "percent": percent,
                         "percent_text": format_percent(percent), "reasons": decision.reasons,
                         "blocking_items": decision.blocking,
                         "signoff": decision.signoff.as_json() if decision.signoff else
                         {"status": "missing"},
                         "catalogue": _catalogue_json(context.catalog)}, indent=2))
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
    from labwarden.checklist.records import archive, disagreement
    from labwarden.errors import UsageError

    if args.overwrite:
        raise UsageError("archive --overwrite: a record is never replaced; each archive adds "
                         "a new one (SERVICE-YYYYMMDD.md, then -2.md, -3.md…), so the flag "
                         "is gone")
    context = LabContext(args)
    evaluation = context.evaluate(args.service, store=True)
    decision = context.decide(evaluation)
    problem = disagreement(evaluation.record.deployment, decision)
    if problem:
        sys.stderr.write(_terminal([f"labwarden: {args.service} not archived: {problem}"])
                         + "\n")
        return EXIT_BLOCKED
    path = archive(evaluation, context.catalog, context.inventory.records_dir,
                   context.today.isoformat(), decision)
    _out(f"archived {os.path.relpath(path)}")
    return EXIT_OK


def cmd_history(args) -> int:
    return _run(_history, args)


def _history(args) -> int:
    from labwarden.checklist.score import format_percent
    from labwarden.store import Store

    context = LabContext(args)
    context.inventory.service(args.service)
    with Store(context.inventory.history_path) as store:
        runs = store.runs(args.service, limit=args.limit)
    if not runs:
        _out(f"no runs of {args.service} in the history yet (`labwarden gate "
             f"{args.service}` adds one, as do record, archive and checklist --save)")
        return EXIT_OK
    lines = [f"{'run':>5}  {'when':<25} {'score':>7}  {'risk':<12} findings"]
    for run in runs:
        score = "-" if run.score is None else format_percent(run.score)
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

    context = LabContext(args)
    if args.service is not None:
        context.inventory.service(args.service)
    with Store(context.inventory.history_path) as store:
        if len(args.runs) == 2:
            old, new = args.runs
        elif args.runs:
            raise ConfigError("diff takes two run IDs of one service, or --service SERVICE "
                              "for its last two runs")
        elif args.service is None:
            raise ConfigError("diff compares two runs of one service: name the service "
                              "(`diff --service SERVICE`) or two of its runs (`diff RUN RUN`)")
        else:
            runs = store.runs(args.service, limit=2)
            if len(runs) < 2:
                raise ConfigError(f"diff needs two runs of {args.service}; the history has "
                                  f"{len(runs)} (`labwarden gate {args.service}` adds one)")
            old, new = runs[0].id, runs[1].id
        result = store.diff(old, new, service=args.service)
    lines = [f"{result.service}: run {old} → run {new}: {len(result.new)} new, "
             f"{len(result.fixed)} fixed, "
             f"{len(result.persisting)} persisting"]
    for title, rows in (("new", result.new), ("fixed", result.fixed)):
        for row in rows:
            # rule:fingerprint, the name a roadmap or a waiver uses for it in any run
            lines.append(f"  {title:<6} {row.severity:<8} {row.rule_id}:{row.fingerprint[:12]} "
                         f"{row.asset} {row.message}")
    _out(_terminal(lines))
    return EXIT_OK
