"""The command line: parse arguments, call the engine, pick a reporter, set the exit code.

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

from labwarden.errors import UsageError

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
FORMATS = ("terminal", "json", "sarif", "markdown", "html", "junit")
FAIL_ON = ("critical", "high", "medium", "low", "never")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse exits 2 too; keep its message but our wording
        self.print_usage(sys.stderr)
        sys.stderr.write(f"labwarden: error: {message}\n")
        sys.exit(EXIT_ERROR)


# --- argument types: a bad value is a usage error from argparse, not a crash later ---------

def whole_number(low: int, high: int):
    """An argparse type for integers in [low, high] (SQLite, ports and process counts all
    have a range; `1e23` is not a count)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is not between {low} and {high}")
        return value
    parse.__name__ = "whole number"
    return parse


def seconds(text: str) -> float:
    """An argparse type for a timeout: a finite number of seconds above zero."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and 0 < value <= 86400):
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 86400 seconds")
    return value


def iso_date(text: str):
    """An argparse type for YYYY-MM-DD."""
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


PORT = whole_number(0, 65535)
COUNT = whole_number(1, 4096)


BUILTIN_COMMANDS = ("audit", "rules", "rule", "docs")


def add_report_options(parser: argparse.ArgumentParser) -> None:
    """The options every command that reports findings shares (audit, scripts), colour
    included."""
    parser.add_argument("--format", choices=FORMATS, default="terminal")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE")
    parser.add_argument("--fail-on", choices=FAIL_ON, default=None,
                        help="lowest severity that makes the exit code 1 (default: high, or "
                        "policy.fail_on in labwarden.yaml)")
    parser.add_argument("--allow-partial", action="store_true",
                        help="exit 0/1 even when some input could not be checked")
    parser.add_argument("--config", metavar="FILE", help="labwarden.yaml to use (default: "
                        "found beside the first path or in its parents up to the repository "
                        "root)")
    parser.add_argument("--no-config", action="store_true", help="ignore labwarden.yaml")
    color = parser.add_mutually_exclusive_group()
    color.add_argument("--color", dest="color", action="store_true", default=None)
    color.add_argument("--no-color", dest="color", action="store_false")


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
                       "[:port], tcp://host[:port], local://, snapshot:DIR (default: the "
                       "current directory)")
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
                       help="worker processes (default: one per core for large trees)")
    live = audit.add_argument_group("live checks (only the targets you name are touched)")
    live.add_argument("--live", action="store_true", help="also probe the URLs and hosts "
                      "named in the inventory (labwarden.yaml services)")
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
    live.add_argument("--ssh-known-hosts", metavar="FILE")
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
    docs.add_argument("--output", default="docs/rules", metavar="DIR")

    if command in BUILTIN_COMMANDS:
        return parser
    from labwarden.commands import checklist, fix, remediation

    checklist.register(commands)
    remediation.register(commands)
    fix.register(commands)
    from labwarden.commands import scripts as scripts_command

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


def guarded(handler, args) -> int:
    """Run a command so that whatever goes wrong ends in a documented exit code: a usage
    error (bad configuration, history, output path…) and any unexpected exception exit 2
    with one line each, never 1 and never a traceback."""
    try:
        return handler(args)
    except BrokenPipeError:  # `labwarden audit | head` is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    except UsageError as exc:
        sys.stderr.write(exc.lines())
        return EXIT_ERROR
    except Exception as exc:   # noqa: BLE001 - the last line of defence, by design
        sys.stderr.write(unexpected(exc, args) + "\n")
        if os.environ.get("LABWARDEN_DEBUG") == "1":
            import traceback

            traceback.print_exc()
        return EXIT_ERROR


def unexpected(exc: BaseException, args) -> str:
    """The one line for an exception nothing expected: what the command was given and where
    labwarden failed, but not the exception's message, which may quote a value from the
    input (a password in an environment variable, say)."""
    if isinstance(exc, OSError) and exc.filename is not None:
        # The system refused something: the file and the reason say what to do about it.
        return f"labwarden: {exc.filename}: {exc.strerror or type(exc).__name__}"
    frame = _innermost_labwarden_frame(exc)
    where = f" at {frame}" if frame else ""
    return (f"labwarden: internal error ({type(exc).__name__}{where}) on "
            f"{described_input(args)}; this is a labwarden bug, please report it "
            "(LABWARDEN_DEBUG=1 shows the traceback)")


def _innermost_labwarden_frame(exc: BaseException) -> str:
    import traceback

    package = os.path.dirname(os.path.abspath(__file__))
    found = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(package + os.sep):
            found = f"{os.path.relpath(frame.filename, os.path.dirname(package))}:{frame.lineno}"
    return found


def described_input(args) -> str:
    """`labwarden COMMAND` and what it was asked to read: paths, files, service, config, with
    any password in a URL redacted."""
    from labwarden.redact import redact_url

    words = [args.command]
    for name, option in (("service", ""), ("paths", ""), ("path", ""), ("compose_files", "-f"),
                         ("config", "--config"), ("env_file", "--env-file"), ("output", "-o")):
        value = getattr(args, name, None)
        for item in value if isinstance(value, list) else [value] if value else []:
            words += [option, str(item)] if option else [str(item)]
    return "`labwarden " + " ".join(redact_url(w) for w in words) + "`"


def emit(text: str, output: str | None) -> None:
    """Write a report to `output` (already accepted by `check_output`), or to stdout."""
    if output:
        try:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:   # a full disk, a directory made meanwhile, no permission
            raise OutputError(f"cannot write the report to {output}: "
                              f"{exc.strerror or exc}") from None
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


class OutputError(UsageError):
    """A report path that cannot or must not be written."""


# Reports are JSON, SARIF, Markdown, HTML or text: an existing file of these kinds is
# something labwarden reads (Compose, included and env files, labwarden.yaml, scripts).
_INPUT_SUFFIXES = (".yaml", ".yml", ".env", ".sh", ".bash")


def check_output(output: str | None, inputs: list[str | None]) -> None:
    """Refuse, before any work, a report path that cannot be written or that would replace
    an input (`-o compose.yaml`). A missing folder is refused too, not created: a typo in a
    CI script would otherwise put the report where nobody looks."""
    if not output:
        return
    if os.path.isdir(output):
        raise OutputError(f"-o {output}: is a directory; name the report file")
    folder = os.path.dirname(output)
    if folder and not os.path.isdir(folder):
        raise OutputError(f"-o {output}: the folder {folder} does not exist")
    if os.path.isfile(output) and _is_input(output, inputs):
        raise OutputError(f"-o {output}: is an input labwarden reads; a report would "
                          "overwrite it (name another file)")


def _is_input(path: str, inputs: list[str | None]) -> bool:
    real = os.path.realpath(path)
    if any(os.path.realpath(i) == real for i in inputs if i):
        return True
    if path.endswith(_INPUT_SUFFIXES) or os.path.basename(path) == ".env":
        return True
    from labwarden.sources._read import open_regular

    try:
        with open_regular(path) as handle:   # a FIFO put there since would block open()
            return handle.read(2) == b"#!"   # a script, found by its shebang
    except OSError:
        return False


def check_input_file(path: str | None, option: str) -> None:
    """An input file named by an option must be there: a missing --env-file would otherwise
    be an audit without its variables, reported as a clean run."""
    if path is None:
        return
    if not os.path.exists(path):
        raise UsageError(f"{option} {path}: no such file")
    if not os.path.isfile(path):
        raise UsageError(f"{option} {path}: is not a regular file")


def nothing_checked(result, paths: list[str], what: str, checked: int) -> None:
    """Add an error to a result that read nothing at all (`checked`: the projects or scripts
    it read) and found no error to say why: an empty directory, a tree without Compose
    files. A security gate fails closed; --allow-partial accepts it."""
    if checked or result.errors:
        return
    from labwarden.model import Diagnostic, Location

    result.diagnostics.append(Diagnostic(
        "error", "nothing-to-audit", f"no {what} found here: nothing was checked",
        Location(paths[0] if paths else ".")))


def finish(result, args, config) -> int:
    """The exit code of a report command; when it is 2, one line on stderr says why (the
    report itself may have gone to a file, or be too long to read in a CI log)."""
    from labwarden.engine import exit_code

    code = exit_code(result, fail_threshold(args.fail_on, config), args.allow_partial)
    if code == EXIT_ERROR:
        errors = result.errors
        more = f" (and {len(errors) - 1} more, in the report)" if len(errors) > 1 else ""
        sys.stderr.write(f"labwarden: not checked: {errors[0]}{more}; exit 2 "
                         "(--allow-partial accepts a partial check)\n")
    return code


def cmd_audit(args) -> int:
    from labwarden.config import find_config, load_config
    from labwarden.engine import AuditOptions, audit
    from labwarden.sources.compose.loader import LoadOptions

    from labwarden.sources.live.targets import looks_like_target

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
        targets = _targets(args, config, target_texts)
        probe = _probe_options(args) if targets else None
    except ValueError as exc:   # a malformed target
        raise UsageError(str(exc)) from None
    load = LoadOptions(use_environment=args.use_env, env_file=args.env_file,
                       profiles=tuple(args.profiles) if args.profiles else None)
    options = AuditOptions(load=load, config=config, jobs=args.jobs,
                           compose_files=list(args.compose_files), targets=targets,
                           probe=probe)
    result = audit(paths, options)
    if not targets:
        nothing_checked(result, paths, "Compose file", result.projects)

    from labwarden.report import render

    # A report written to a file never gets colour codes, whatever the terminal is.
    color = False if args.output and args.color is None else args.color
    extra = {}
    if args.format in ("html", "markdown"):
        extra = _report_context(paths, config, result, args.format)
    text = render(result, args.format, color=color, **extra)
    emit(text, args.output)
    return finish(result, args, config)


def fail_threshold(option: str | None, config):
    """The lowest severity that fails the run: --fail-on, else policy.fail_on, else HIGH;
    None for `never`."""
    from labwarden.model import Severity

    if option == "never":
        return None
    if option:
        return Severity.parse(option)
    return config.fail_on or Severity.HIGH


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
    from labwarden.inventory import load_inventory

    catalog = load_catalog()
    evaluations = []
    if config.path:
        inventory = load_inventory(config)
        root = inventory.base_dir
        if [os.path.abspath(p) for p in paths] == [root]:
            book = AttestationBook(inventory.attestations_path)
            evaluations = [evaluate(service, result, book.record(name), catalog, root,
                                    disabled=config.disabled)
                           for name, service in inventory.services.items()]
    return {"roadmap": roadmap, "evaluations": evaluations, "catalog": catalog}


def _targets(args, config, texts: list[str]):
    if not texts and not args.live:
        return []   # the common case: files only, no asyncio or probe modules imported
    from labwarden.live_audit import inventory_targets, parse_targets

    if args.live:
        from labwarden.inventory import load_inventory

        texts = texts + [t for t in inventory_targets(load_inventory(config)) if t not in texts]
    return parse_targets(texts)


def _probe_options(args):
    from labwarden.sources.live.collect import DEFAULT_SCAN_PORTS, ProbeOptions

    ports = DEFAULT_SCAN_PORTS
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
                        scan_ports=ports, http_port=args.http_port)


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
        sys.stderr.write(f"labwarden: no rule {args.rule_id!r}; `labwarden rules` lists them\n")
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
