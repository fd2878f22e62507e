"""`labwarden attest`: vouch for checklist items, or answer optional ones N/A, for a service,
a group of services, a host or the whole lab; many items at once, from a file, or walking a
service's OPEN items in a terminal.

    labwarden attest n8n 1.2.2 1.2.3 --by jdoe --note "TOTP for every admin"
    labwarden attest --host docker-01 3.4.2-3.4.4 --by jdoe --note "ansible role fw"
    labwarden attest --group apps 5.1 --by jdoe --note "PBS job docker-01-daily"
    labwarden attest --lab 6.1.3 --by jdoe --note "promtail ships every log to Loki"
    labwarden attest --from answers.yaml --by jdoe
    labwarden attest n8n --walk --by jdoe

A command audits the lab at most once, whatever its scope and however many items: each
affected service is evaluated from that one result, to refuse an item the audit fails for
any of them and to say which items evidence already answers. It then writes every answer in
one replace of the attestation file (`AttestationBook.attest`). The walk audits once at the
start and writes each answer as it is given, so an interrupted walk keeps what was answered.
"""

from __future__ import annotations

import datetime as dt
import os
import sys

from labwarden.commands.checklist import (EXIT_BLOCKED, EXIT_OK, LabContext, _iso, _out, _run,
                                          _terminal, add_service_command)

EXIT_INTERRUPTED = 130            # what `guarded` returns for Ctrl-C elsewhere


def register(commands) -> None:
    parser = add_service_command(commands, "attest", "vouch for checklist items, or answer "
                                 "them N/A, for a service, group, host or the lab",
                                 cmd_attest, service=False)
    parser.add_argument("words", nargs="*", metavar="SERVICE ITEM",
                        help="the service, then item IDs (1.2.1), ranges (1.4.1-1.4.7) or "
                        "subsections (1.4); with --lab, --host or --group only items")
    parser.add_argument("--by", required=True, metavar="NAME", help="who vouches")
    parser.add_argument("--note", default="", help="what was checked and how")
    parser.add_argument("--evidence", default="", metavar="LINK",
                        help="where the proof is (a URL, a ticket, a file)")
    parser.add_argument("--expires", default="", metavar="DATE",
                        help="YYYY-MM-DD, not in the past; after it the item is OPEN again")
    parser.add_argument("--na", default="", metavar="REASON",
                        help="the items do not apply (only items the seed marks optional)")
    scope = parser.add_argument_group("scope and mode (default: the items of the one SERVICE "
                                      "named)")
    only = scope.add_mutually_exclusive_group()
    only.add_argument("--lab", action="store_true", help="for every service of the inventory")
    only.add_argument("--host", metavar="NAME", help="for every service whose `host:` is NAME")
    only.add_argument("--group", metavar="NAME",
                      help="for every service that lists NAME under `groups:`")
    only.add_argument("--from", dest="from_file", metavar="FILE",
                      help="many answers, each with its scope, from a YAML file")
    only.add_argument("--walk", action="store_true",
                      help="prompt for each OPEN item of SERVICE: attest, N/A, skip or quit")
    scope.add_argument("--stdin", action="store_true",
                       help="with --walk: read answers from stdin even when it is not a "
                       "terminal (a pipe or a file)")


def cmd_attest(args) -> int:
    return _run(_attest, args)


def _attest(args) -> int:
    scope = _scope_option(args)
    _check_combination(args, scope)
    if args.walk and not args.stdin and not sys.stdin.isatty():
        from labwarden.errors import UsageError

        raise UsageError("attest --walk asks its questions on a terminal and stdin is not "
                         "one; add --stdin to read the answers from a pipe or a file")
    context = LabContext(args)
    catalog = context.catalog           # the operator's: the lab's words, the overlay
    if args.walk:
        return _walk(args, context, catalog)
    if args.from_file:
        from labwarden.checklist.batch import load_batch

        answers = load_batch(args.from_file, catalog, context.inventory, args.by,
                             context.today)
    else:
        answers = _command_line_answers(args, scope, context, catalog)
    return _record(answers, context, catalog, args.by)


def _scope_option(args):
    from labwarden.checklist.attest import Scope

    if args.lab:
        return Scope("lab")
    if args.host is not None:
        return Scope("host", args.host)
    if args.group is not None:
        return Scope("group", args.group)
    return None


def _check_combination(args, scope) -> None:
    from labwarden.errors import UsageError

    given = [f"--{k}" for k in ("note", "evidence", "na") if getattr(args, k)]
    if not args.by.strip():
        raise UsageError("attest: --by needs the name of the person who vouches")
    if args.stdin and not args.walk:
        raise UsageError("attest: --stdin only goes with --walk")
    if args.from_file:
        if args.words or given or args.expires:
            raise UsageError("attest --from takes scopes, items and notes from the file: give "
                             "it with --by only")
    elif args.walk:
        if len(args.words) != 1 or given:
            raise UsageError("attest --walk takes one SERVICE (and --by, optionally "
                             "--expires); the notes are asked for each item")
    elif scope is not None:
        if not args.words:
            raise UsageError(f"attest --{scope.kind}: name the items to attest (IDs, ranges "
                             "or subsections)")
    elif len(args.words) < 2:
        raise UsageError("attest: name the SERVICE, then the items (or --walk to be asked "
                         "for each OPEN item)")


def _command_line_answers(args, scope, context, catalog) -> list:
    from labwarden.checklist.attest import Attestation, Scope, check_dates, unknown_scope
    from labwarden.checklist.selection import select_items
    from labwarden.config import ConfigError

    words = args.words
    if scope is None:
        scope, words = Scope("service", context.inventory.service(words[0]).name), words[1:]
    problem = unknown_scope(scope, context.inventory)
    if problem:
        raise ConfigError(problem)
    try:
        items = select_items(catalog, words)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if args.na:
        fixed = [item.id for item in items if not item.optional]
        if fixed:
            raise ConfigError(f"{', '.join(fixed)} {'is' if len(fixed) == 1 else 'are'} not "
                              "marked optional in the checklist: cannot be answered N/A "
                              "(attest what was done instead)")
    expires = _iso(args.expires, "--expires") if args.expires else ""
    if expires and dt.date.fromisoformat(expires) < context.today:
        raise ConfigError(f"--expires {expires} is in the past (today is "
                          f"{context.today.isoformat()}): an expired attestation answers "
                          "nothing")
    answers = [(scope, Attestation(item.id, args.by, context.today.isoformat(),
                                   note=args.note, evidence=args.evidence, expires=expires,
                                   na=args.na, scope=scope.label)) for item in items]
    for _, attestation in answers:
        check_dates(attestation, context.today)
    return answers


# --- one audit, one write ----------------------------------------------------------------

def _record(answers: list, context, catalog, by: str) -> int:
    """Refuse the whole batch when the audit fails any of its items for a service it
    answers for; otherwise write it at once and say what it did beyond the obvious."""
    inventory = context.inventory
    book = context.book()
    scopes, members, results, failing = check_answers(answers, context, book)
    if failing:
        _refuse(failing)
        return EXIT_BLOCKED
    replaced = book.attest(answers)
    lines = []
    for scope in scopes:
        mine = [a for s, a in answers if s == scope]
        lines.append(_summary(scope, members[scope], mine, by, catalog))
        lines += _notes(scope, members[scope], mine, results, book, replaced)
    lines.append(f"recorded in {os.path.relpath(inventory.attestations_path)} "
                 f"({len(answers)} answer{'s' if len(answers) != 1 else ''}, one write)")
    _out(_terminal(lines))
    return EXIT_OK


def check_answers(answers: list, context, book) -> tuple[list, dict, dict, list]:
    """One audit of every service the answers affect, each evaluated from it: the scopes,
    their services, each service's item results, and the (item, service, result) the audit
    FAILs, which refuse the batch. The CLI and the web console both decide with it."""
    from labwarden.checklist.attest import services_in

    scopes = list(dict.fromkeys(scope for scope, _ in answers))
    members = {scope: services_in(scope, context.inventory) for scope in scopes}
    affected = {s.name: s for scope in scopes for s in members[scope]}
    results: dict[str, dict] = {}
    if affected:                        # one audit, every affected service from it
        audit = context.audit(list(affected.values()))
        results = {name: context.evaluate_from(service, audit, book).by_id()
                   for name, service in affected.items()}
    failing = [(attestation.item_id, service.name, results[service.name][attestation.item_id])
               for scope, attestation in answers for service in members[scope]
               if _status(results[service.name].get(attestation.item_id)) == "FAIL"]
    return scopes, members, results, failing


def _status(result) -> str:
    return result.status.value if result is not None else ""


def _refuse(failing: list) -> None:
    lines = ["labwarden: refusing to attest: the audit fails these items now; nothing "
             "written. Fix the findings first, or leave these items out:"]
    for item_id, service, result in failing:
        lines.append(f"  {item_id} for {service}: {result.note}")
        lines += [f"    {f.id} {f.rule.id} {f.location}: {f.message}" for f in result.findings]
    sys.stderr.write(_terminal(lines) + "\n")


def _summary(scope, services: list, answers: list, by: str, catalog) -> str:
    from labwarden.checklist.selection import compact

    attested = [a.item_id for a in answers if not a.na]
    na = [a.item_id for a in answers if a.na]
    parts = []
    if attested:
        parts.append(f"attested {compact(attested, catalog)}")
    if na:
        reasons = sorted({a.na for a in answers if a.na})
        parts.append(f"N/A {compact(na, catalog)}"
                     + (f" ({reasons[0]})" if len(reasons) == 1 else ""))
    return f"{_target(scope, services)}: {' and '.join(parts)} by {by}"


def _target(scope, services: list) -> str:
    if scope.kind == "service":
        return scope.name
    names = ", ".join(s.name for s in services) or "no service yet"
    return f"{'the lab' if scope.kind == 'lab' else str(scope)} ({names})"


def _notes(scope, services: list, answers: list, results: dict, book,
           replaced: list) -> list[str]:
    """What the person may not expect: an entry replaced, an item that evidence already
    answers (recorded anyway: it answers whenever that evidence is not collected), one that
    does not apply, one a more specific attestation keeps answering."""
    old = {a.item_id: a for s, a in replaced if s == scope}
    lines = []
    for attestation in answers:
        item_id = attestation.item_id
        if item_id in old:
            lines.append(f"  {item_id} replaces the {old[item_id].described()}")
        by_status: dict[str, list] = {}
        for service in services:
            result = results[service.name].get(item_id)
            own = book.overriding(service, scope, item_id)
            if own is not None:
                whose = "own" if own.scope == "service" else own.scope
                lines.append(f"  {item_id}: {service.name} keeps its {whose} answer ("
                             f"{'N/A' if own.na else 'attested'} by {own.by} on {own.date}),"
                             f" which takes precedence over the {scope.kind}'s")
            elif result is not None and result.attestation is None \
                    and result.status.value in ("PASS", "N/A"):
                by_status.setdefault(result.status.value, []).append((service, result))
        if "PASS" in by_status:
            found = by_status["PASS"]
            lines.append(f"  {item_id} already passes from evidence for "
                         f"{', '.join(s.name for s, _ in found)} ({found[0][1].note}); "
                         "recorded anyway: it answers the item whenever that evidence is "
                         "not collected")
        if "N/A" in by_status:
            found = by_status["N/A"]
            lines.append(f"  {item_id} is N/A for {', '.join(s.name for s, _ in found)} "
                         f"({found[0][1].note}): no effect there")
    return lines


# --- the walk ----------------------------------------------------------------------------

def _walk(args, context, catalog) -> int:
    """Each OPEN item of the service in turn: [a]ttest (then a note), [n]/a with a reason
    (optional items), [s]kip, [q]uit. Each answer is written as it is given."""
    from labwarden.checklist.attest import Attestation, Scope
    from labwarden.checklist.score import Status
    from labwarden.config import ConfigError

    service = context.inventory.service(args.words[0])
    expires = _iso(args.expires, "--expires") if args.expires else ""
    if expires and dt.date.fromisoformat(expires) < context.today:
        raise ConfigError(f"--expires {expires} is in the past (today is "
                          f"{context.today.isoformat()})")
    book = context.book()
    evaluation = context.evaluate_from(service, context.audit([service]), book)
    pending = [r for r in evaluation.items if r.status is Status.OPEN]
    path = os.path.relpath(context.inventory.attestations_path)
    if not pending:
        _out(f"{service.name}: no OPEN item; nothing to walk")
        return EXIT_OK
    _out(_terminal([f"{service.name}: {len(pending)} OPEN item(s). For each: [a]ttest (a note "
                    "follows), [n]/a REASON (optional items only), [s]kip, [q]uit. Each "
                    f"answer is written to {path} at once."]))
    scope = Scope("service", service.name)
    tally = {"attested": 0, "N/A": 0, "skipped": 0}
    try:
        for position, result in enumerate(pending, 1):
            item = result.item
            _out(_terminal(["", f"[{position}/{len(pending)}] {item.id}  {item.severity.name}"
                            f"{'  (optional)' if item.optional else ''}  {item.text}",
                            f"    open: {result.note}"]))
            answer = _ask_item(item)
            if answer is None:
                break
            kind, text = answer
            if kind == "s":
                tally["skipped"] += 1
                continue
            attestation = Attestation(item.id, args.by, context.today.isoformat(),
                                      note=text if kind == "a" else "",
                                      expires=expires if kind == "a" else "",
                                      na=text if kind == "n" else "")
            replaced = book.attest([(scope, attestation)])
            tally["attested" if kind == "a" else "N/A"] += 1
            said = "attested" if kind == "a" else f"N/A ({text})"
            if replaced:
                said += f", replacing the {replaced[0][1].described()}"
            _out(_terminal([f"    → {item.id} {said}"]))
    except KeyboardInterrupt:
        _out("")
        _out(_walk_summary(service.name, tally, len(pending), path, "interrupted"))
        return EXIT_INTERRUPTED
    finished = sum(tally.values()) == len(pending)
    _out(_walk_summary(service.name, tally, len(pending), path,
                       "done" if finished else "stopped"))
    return EXIT_OK


def _walk_summary(name: str, tally: dict, total: int, path: str, how: str) -> str:
    counts = ", ".join(f"{v} {k}" for k, v in tally.items())
    left = total - sum(tally.values())
    return _terminal([f"{name}: {how}: {counts}, {left} not reached; the answers are in "
                      f"{path}"])


def _ask_item(item):
    """("a", note), ("n", reason) or ("s", "") for the item; None to stop (q or end of
    input)."""
    while True:
        reply = _ask("  [a]ttest / [n]/a reason / [s]kip / [q]uit > ")
        if reply is None:
            return None
        choice, _, rest = reply.strip().partition(" ")
        choice, rest = choice.lower(), rest.strip()
        if choice in ("q", "quit"):
            return None
        if choice in ("s", "skip", ""):
            return ("s", "")
        if choice in ("a", "attest"):
            if not rest:
                note = _ask("  note (what was checked and how): ")
                if note is None:
                    return None
                rest = note.strip()
            return ("a", rest)
        if choice in ("n", "n/a", "na"):
            if not item.optional:
                _out(f"    {item.id} is not optional in the checklist: it cannot be N/A "
                     "(attest, skip or quit)")
                continue
            if not rest:
                reason = _ask("  reason it does not apply: ")
                if reason is None:
                    return None
                rest = reason.strip()
            if not rest:
                _out("    N/A needs a reason")
                continue
            return ("n", rest)
        _out("    answer a, n, s or q")


def _ask(prompt: str) -> str | None:
    """One line from stdin, None at its end. Piped answers are echoed after the prompt, so
    the transcript reads like the terminal session."""
    try:
        line = input(prompt)
    except EOFError:
        _out("")
        return None
    if not sys.stdin.isatty():
        _out(line)
    return line
