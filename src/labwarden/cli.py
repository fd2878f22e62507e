"""The command line: parse arguments, run the audit, pick a reporter, set the exit code.

Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2 usage,
configuration or input error that left part of the target unchecked (unless
--allow-partial). Nothing else escapes `main`: an unexpected exception is a labwarden bug,
and it still exits 2 with one line (never 1, which CI reads as "findings"; never a
traceback, unless LABWARDEN_DEBUG=1).
"""

from __future__ import annotations

import argparse
import os
import sys

from labwarden.commands.common import (
    COUNT,
    EXIT_ERROR,
    EXIT_OK,
    PORT,
    OutputError,
    UsageError,
    add_report_options,
    check_input_file,
    check_output,
    emit,
    finish,
    guarded,
    nothing_checked,
    seconds,
)


def _columns() -> int:
    """The terminal's width, as shutil.get_terminal_size() gives it (COLUMNS, else the
    terminal of stdout, else 80), without importing shutil and, through it, bz2 and lzma:
    argparse's help formatter asks on every add_argument() of every start-up."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Formatter(argparse.HelpFormatter):
    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None):
        super().__init__(prog, indent_increment, max_help_position,
                         _columns() - 2 if width is None else width)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message):  # argparse exits 2 too; keep its message but our wording
        self.print_usage(sys.stderr)
        sys.stderr.write(f"labwarden: error: {message}\n")
        sys.exit(EXIT_ERROR)


BUILTIN_COMMANDS = ("audit", "rules", "rule", "docs")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; given the command about to run, only what it needs (the other command
    modules are not imported: `audit` runs on every commit and its start-up counts)."""
    from labwarden import __version__

    parser = _Parser(prog="labwarden", description="Audit self-hosted infrastructure and "
                     "decide whether a service is safe to deploy.")
    parser.add_argument("--version", action="version", version=f"labwarden {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    audit = commands.add_parser("audit", help="audit Compose projects, env files and secrets")
    audit.add_argument("paths", nargs="*", metavar="PATH",
                       help="directories to search for Compose projects, Compose files, or "
                       "targets to probe: https://host[:port], http://…, ssh://[user@]host"
                       "[:port], tcp://host[:port], local://, snapshot:DIR, a backup "
                       "repository restic:LOCATION or borg:LOCATION (default: the current "
                       "directory)")
    audit.add_argument("-f", "--file", dest="compose_files", action="append", default=[],
                       metavar="FILE", help="Compose files merged in order into one project, "
                       "as `docker compose -f A -f B` (repeatable)")
    add_report_options(audit)
    audit.add_argument("--profile", action="append", dest="profiles", metavar="NAME",
                       help="audit only services active with these profiles (default: all "
                       "services, since any profile can be switched on)")
    audit.add_argument("--env-file", metavar="FILE", help="read variables from FILE instead "
                       "of each project's .env")
    audit.add_argument("--use-env", action="store_true", help="also interpolate variables "
                       "from this shell's environment (off by default: audits are "
                       "reproducible)")
    audit.add_argument("--jobs", type=COUNT, default=None, metavar="N",
                       help="hosts collected at once (default 8), and worker processes for "
                       "a large Compose tree (default: one per core)")
    audit.add_argument("--scan-report", dest="scan_reports", action="append", default=[],
                       metavar="FILE", help="a Trivy (`trivy image -f json`) or Grype "
                       "(`grype -o json`) report of an image the tree runs (repeatable)")
    audit.add_argument("--scan", action="store_true", help="run `trivy image` on every "
                       "image the tree runs (trivy must be on PATH)")
    live = audit.add_argument_group("live checks (only the targets you name are touched)")
    live.add_argument("--live", action="store_true", help="also probe the URLs and hosts "
                      "named in the inventory (labwarden.yaml services)")
    live.add_argument("--hosts", nargs="?", const="all", default=None, metavar="SELECTION",
                      help="collect the inventory's hosts (labwarden.yaml `hosts:` and the "
                      "Ansible inventory): all, or names, groups and globs as in Ansible's "
                      "--limit (`docker:!edge`)")
    live.add_argument("--host-timeout", type=seconds, default=None, metavar="SECONDS",
                      help="each host's collection, all its commands together (default 30)")
    live.add_argument("--timeout", type=seconds, default=5.0, metavar="SECONDS",
                      help="per connection (default 5)")
    live.add_argument("--concurrency", type=COUNT, default=32, metavar="N",
                      help="probes in flight at once (default 32)")
    live.add_argument("--ca-file", metavar="FILE", help="trust this CA (a private CA is the "
                      "homelab norm)")
    live.add_argument("--tls-profile", choices=("intermediate", "modern"),
                      default="intermediate", help="Mozilla server-side TLS profile")
    live.add_argument("--http-port", type=PORT, default=None, metavar="PORT",
                      help="plain-HTTP port checked for the redirect (0: do not check)")
    live.add_argument("--ports", metavar="LIST", help="ports for tcp:// scans, e.g. 22,80,443")
    live.add_argument("--resolve", action="append", default=[], metavar="HOST[:PORT]=ADDR",
                      help="connect to ADDR for HOST, like curl --resolve (repeatable)")
    live.add_argument("--ssh-key", metavar="FILE", help="key for reading hosts over SSH "
                      "(read-only commands)")
    live.add_argument("--ssh-known-hosts", metavar="FILE",
                      help="known_hosts file to check host keys against (default: "
                      "~/.ssh/known_hosts)")
    live.add_argument("--ssh-accept-unknown-host", action="store_true",
                      help="accept a host key not in known_hosts (a changed key is still "
                      "refused)")
    live.add_argument("--ssh-sudo", action="store_true",
                      help="run the read-only host commands with `sudo -n`")
    live.add_argument("--check-default-credentials", action="store_true",
                      help="try a few well-known default logins on the named targets only")
    commands.add_parser("rules", help="list every rule")
    rule = commands.add_parser("rule", help="show a rule's documentation")
    rule.add_argument("rule_id", metavar="ID", help="rule ID (CMP050) or name")
    docs = commands.add_parser("docs", help="write docs/rules/ from the rule metadata")
    docs.add_argument("--output", default="docs/rules", metavar="DIR",
                      help="directory for the pages (default: docs/rules)")

    if command in BUILTIN_COMMANDS:
        return parser
    from labwarden.commands import attest, backup, checklist, fix, remediation

    checklist.register(commands)
    attest.register(commands)
    remediation.register(commands)
    fix.register(commands)
    backup.register(commands)
    from labwarden.commands import collect as collect_command
    from labwarden.commands import scripts as scripts_command

    collect_command.register(commands)
    from labwarden.commands import metrics as metrics_command

    metrics_command.register(commands)

    from labwarden.commands import serve as serve_command

    serve_command.register(commands)

    scripts = commands.add_parser("scripts", help="validate remediation and maintenance shell "
                                  "scripts (bash -n, ShellCheck, SCR rules)")
    scripts_command.add_arguments(scripts)
    scripts.set_defaults(handler=scripts_command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    parser = build_parser(words[0] if words and words[0] in BUILTIN_COMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_ERROR
    handler = getattr(args, "handler", None) or {
        "audit": cmd_audit, "rules": cmd_rules, "rule": cmd_rule, "docs": cmd_docs}[args.command]
    return guarded(handler, args)


def cmd_audit(args) -> int:
    from labwarden.audit import AuditOptions, run
    from labwarden.config import find_config, load_config
    from labwarden.sources.compose.loader import LoadOptions
    from labwarden.sources.live.targets import looks_like_target

    from labwarden.commands.output_format import resolve_format

    resolve_format(args)
    from labwarden.commands.report_view import check_view_options, view

    check_view_options(args)
    target_texts = [p for p in args.paths if looks_like_target(p)]
    paths = [p for p in args.paths if not looks_like_target(p)]
    if not paths and not args.compose_files and not target_texts:
        paths = ["."]
    check_input_file(args.env_file, "--env-file")
    config_path = None if args.no_config else (args.config or find_config(
        paths or args.compose_files or ["."]))
    check_output(args.output, paths + args.compose_files + [args.env_file, config_path])
    config = load_config(config_path)
    try:
        targets, names, unreachable = _targets(args, config, target_texts)
        probe = _probe_options(args, config, names, len(targets)) if targets else None
    except ValueError as exc:   # a malformed target
        raise UsageError(str(exc)) from None
    load = LoadOptions(use_environment=args.use_env, env_file=args.env_file,
                       profiles=tuple(args.profiles) if args.profiles else None)
    # The HTML report answers each inventory service's checklist: from the facts examined.
    keep = args.format == "html" and bool(config.path) and bool(config.raw.get("services"))
    from labwarden.report import preparer

    _left_for_exit.clear()      # a caller that runs main() again: the last audit's, freed
    options = AuditOptions(load=load, config=config, jobs=args.jobs,
                           compose_files=list(args.compose_files), targets=targets,
                           probe=probe, keep_facts=keep, scan_reports=args.scan_reports,
                           run_scan=args.scan, prepare=preparer(args.format),
                           left_for_exit=_left_for_exit)
    result = run(paths, options)
    result.diagnostics.extend(unreachable)    # selected hosts with no address to collect
    if not targets and not unreachable:
        nothing_checked(result, paths, "Compose file", result.projects)

    from labwarden.report import render_pieces

    # A report written to a file never gets colour codes, whatever the terminal is.
    color = False if args.output and args.color is None else args.color
    extra = {}
    if args.format in ("html", "markdown") and not args.compact:
        # From the whole result: the roadmap and the checklist do not follow --min-severity.
        extra = _report_context(paths, config, result, args.format)
    emit(render_pieces(view(result, args, config), args.format, color=color,
                       compact=args.compact, **extra), args.output)
    _left_for_exit.append(result)
    return finish(result, args, config)


# What the last audit found, and its working state (AuditOptions.left_for_exit): the
# console entry point leaves with os._exit() right after, and freeing tens of thousands of
# findings first is milliseconds of work for nothing. A caller in the same process keeps
# one audit's worth at most.
_left_for_exit: list = []


def _report_context(paths: list[str], config, result, fmt: str) -> dict:
    """What the Markdown and HTML reports show besides the findings: the remediation roadmap
    and (HTML) the checklist evaluation of each inventory service, made as `labwarden
    checklist` makes it, when the audit covers the inventory's root (without history)."""
    from labwarden.commands.remediation import build_roadmap

    roadmap = build_roadmap(paths, config, result)
    if fmt == "markdown":
        return {"roadmap": roadmap}
    from labwarden.checklist.attest import AttestationBook
    from labwarden.checklist.catalog import load_catalog
    from labwarden.checklist.evaluate import evaluate
    from labwarden.checklist.overlay import catalog_for
    from labwarden.inventory import load_inventory

    catalog = load_catalog()
    evaluations = []
    if config.path:
        inventory = load_inventory(config)
        root = inventory.base_dir
        if [os.path.abspath(p) for p in paths] == [root]:
            catalog = catalog_for(config, inventory)
            book = AttestationBook(inventory.attestations_path, inventory, catalog)
            evaluations = [evaluate(service, result, book.record_for(service), catalog,
                                    settings=config.settings, disabled=config.disabled)
                           for service in inventory.services.values()]
    return {"roadmap": roadmap, "evaluations": evaluations, "catalog": catalog}


def _targets(args, config, texts: list[str]):
    """The targets to probe, the inventory's name for each host target, and an error for
    each selected host that has no address."""
    if not texts and not args.live and args.hosts is None:
        return [], {}, []   # the common case: files only, no asyncio or probe modules imported
    from labwarden.audit.live import inventory_targets, parse_targets

    names: dict[str, str] = {}
    unreachable: list = []
    if args.live or args.hosts is not None:
        from labwarden.audit import fleet
        from labwarden.inventory import load_inventory

        if args.hosts is not None and not config.path:
            raise UsageError("--hosts: no labwarden.yaml here to read the hosts from (`hosts:` "
                             "or `ansible_inventory:`); name it with --config")
        inventory = load_inventory(config)
        names = fleet.inventory_names(inventory)
        if args.live:
            texts = texts + [t for t in inventory_targets(inventory) if t not in texts]
        if args.hosts is not None:
            chosen, _, unreachable = fleet.host_targets(
                fleet.select_hosts(inventory, args.hosts))
            texts = texts + [t for t in chosen if t not in texts]
            unreachable += fleet.network_only(chosen, bool(args.ssh_key))
    return parse_targets(texts), names, unreachable


def _probe_options(args, config, names: dict[str, str] | None = None, count: int = 0):
    from labwarden.audit.progress import for_terminal
    from labwarden.sources.live.collect import DEFAULT_SCAN_PORTS, ProbeOptions

    ports: tuple[int, ...] = DEFAULT_SCAN_PORTS
    if args.ports:
        try:
            ports = tuple(int(p) for p in args.ports.split(",") if p.strip())
        except ValueError:
            ports = ()
        if not ports or not all(0 < p < 65536 for p in ports):
            raise ValueError(f"--ports takes port numbers (1-65535) separated by commas, not "
                             f"{args.ports!r}")
    resolve = {}
    for entry in args.resolve:
        name, sep, address = entry.partition("=")
        if not sep or not name or not address:
            raise ValueError(f"--resolve takes HOST[:PORT]=ADDR, not {entry!r}")
        resolve[name] = address
    return ProbeOptions(timeout=args.timeout, concurrency=max(1, args.concurrency),
                        resolve=resolve or None,
                        ca_file=args.ca_file, tls_profile=args.tls_profile,
                        check_default_credentials=args.check_default_credentials,
                        ssh_key=args.ssh_key, ssh_known_hosts=args.ssh_known_hosts,
                        ssh_accept_unknown_host=args.ssh_accept_unknown_host,
                        ssh_sudo=args.ssh_sudo,
                        scan_ports=ports, http_port=args.http_port,
                        backup=config.settings.backup,
                        host_jobs=args.jobs or 8, host_deadline=args.host_timeout,
                        host_names=names or None, progress=for_terminal(count))


def cmd_rules(args) -> int:
    from labwarden.rules.registry import all_rules

    rows = [(r.id, r.name, r.severity.name, ", ".join(r.checklist) or "-", r.title)
            for r in all_rules()]
    widths = [max(len(row[i]) for row in rows + [("ID", "NAME", "SEVERITY", "CHECKLIST", "")])
              for i in range(4)]
    header = ("ID", "NAME", "SEVERITY", "CHECKLIST", "TITLE")
    lines = ["  ".join(col.ljust(widths[i]) if i < 4 else col for i, col in enumerate(row))
             for row in [header] + rows]
    emit("\n".join(line.rstrip() for line in lines), None)
    return EXIT_OK


def cmd_rule(args) -> int:
    from labwarden.ruledoc import render_rule
    from labwarden.rules.registry import get

    found = get(args.rule_id)
    if found is None:
        from labwarden.rules._suggest import no_rule

        sys.stderr.write(f"labwarden: {no_rule(args.rule_id)}\n")
        return EXIT_ERROR
    emit(render_rule(found), None)
    return EXIT_OK


def cmd_docs(args) -> int:
    from labwarden.ruledoc import write_docs
    from labwarden.rules.registry import all_rules

    if os.path.exists(args.output) and not os.path.isdir(args.output):
        raise OutputError(f"--output {args.output}: is not a directory (docs writes one page "
                          "per rule into it)")

    written = write_docs(all_rules(), args.output)
    emit(f"wrote {len(written)} pages to {args.output}", None)
    return EXIT_OK


def run() -> None:
    """The console entry point: run, flush, and leave without interpreter teardown (tens of
    milliseconds of freeing objects the process is about to give back anyway)."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    os._exit(code)


if __name__ == "__main__":
    run()
