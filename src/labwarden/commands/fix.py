"""`labwarden fix [PATH…] [--apply] [--rule ID…]`: show, or write, fixes for Compose findings.

Without `--rule`, every *safe* fixer runs (restart policy, log rotation, no-new-privileges,
digest pins when digests are recorded). `--rule ID` (repeatable, or comma-separated; IDs or
names) runs exactly the fixers named, including behaviour-changing ones (published ports
moved behind the reverse proxy or bound to the LAN address or 127.0.0.1, as the lab's
layout needs: `fix/reach.py`; container renames, misspelled keys). The unified diff goes
to standard output (`labwarden fix > fixes.patch` makes a patch for `git apply`), the
summary of what was fixed and skipped, with reasons, to standard error.

Exit codes: 0 nothing left to change (or --apply wrote it all); 1 changes shown but not
written (a dry run that found work, as `ruff format --diff` does); 2 usage, configuration or
digest-file error, a file that could not be written, or input that could not be checked
(the fixes for the rest are still shown, or written).
"""

from __future__ import annotations

import argparse
import os
import sys

HELP = "show (or --apply) safe fixes to Compose files as a unified diff"
EXIT_OK, EXIT_CHANGES, EXIT_ERROR = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Show the fixes labwarden can make to Compose files as a unified "
                          "diff, and write them with --apply. Safe fixes run by default; "
                          "behaviour-changing ones (NET001-NET003 keep a port for whoever "
                          "needs it: the reverse proxy's network and expose, the host's LAN "
                          "address, or 127.0.0.1; CMP090 renames containers, CMP001 renames "
                          "misspelled keys) only when named with --rule.")
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="directories to search for Compose projects, or Compose files "
                        "(default: the current directory)")
    parser.add_argument("-f", "--file", dest="compose_files", action="append", default=[],
                        metavar="FILE", help="Compose files merged in order into one project, "
                        "as `docker compose -f A -f B` (repeatable)")
    parser.add_argument("--apply", action="store_true",
                        help="write the changes (atomically, keeping each file's mode)")
    parser.add_argument("--rule", dest="rules", action="append", default=[], metavar="ID",
                        help="fix only these rules, behaviour-changing ones included "
                        "(repeatable or comma-separated; ID or name)")
    parser.add_argument("--digests", action="append", default=[], metavar="FILE",
                        help="image digests for IMG001/IMG002/IMG004: a labwarden.lock / "
                        "images.lock file or `docker image inspect` JSON (repeatable; "
                        "labwarden.lock and images.lock beside labwarden.yaml or in PATH are "
                        "read anyway)")
    parser.add_argument("--config", metavar="FILE", help="labwarden.yaml to use (default: "
                        "found beside the first path or in its parents)")
    parser.add_argument("--no-config", action="store_true", help="ignore labwarden.yaml")
    parser.add_argument("--env-file", metavar="FILE", help="read variables from FILE instead "
                        "of each project's .env")
    parser.add_argument("--use-env", action="store_true", help="also interpolate variables "
                        "from this shell's environment")


def _directories(paths: list[str]) -> list[str]:
    return [p if os.path.isdir(p) else os.path.dirname(p) or "." for p in paths]


def _container_names(paths: list[str], compose_files: list[str], load) -> set[str]:
    """Every container_name in the audited tree, so that a rename does not collide."""
    from labwarden.sources.compose.discover import ProjectSpec, discover
    from labwarden.sources.compose.loader import load_project

    specs = discover(paths, [])
    if compose_files:
        directory = os.path.dirname(compose_files[0]) or "."
        specs.append(ProjectSpec(directory, list(compose_files),
                                 os.path.basename(os.path.abspath(directory)), explicit=True))
    names: set[str] = set()
    for spec in specs:
        project = load_project(spec, [], load)
        if project is None:
            continue
        for service in project.services.values():
            name = service.get("container_name")
            if name is not None and not isinstance(name, (dict, list)):
                names.add(str(name))
    return names


def run(args) -> int:
    from labwarden.commands.common import check_input_file, nothing_checked
    from labwarden.config import find_config, load_config
    from labwarden.audit import AuditOptions, run
    from labwarden.fix import FIXERS, FixContext
    from labwarden.fix.digests import DigestBook, DigestFileError, find_lock_files
    from labwarden.fix.runner import WriteError, plan, resolve_rules, summary, unified_diff, write
    from labwarden.sources.compose.loader import LoadOptions

    err = sys.stderr
    try:
        selected = resolve_rules(args.rules)
    except ValueError as exc:
        err.write(f"labwarden: {exc}\n")
        return EXIT_ERROR
    paths = args.paths or ([] if args.compose_files else ["."])
    check_input_file(args.env_file, "--env-file")
    config_path = None if args.no_config else (args.config or find_config(
        paths or args.compose_files))
    config = load_config(config_path)
    load = LoadOptions(use_environment=args.use_env, env_file=args.env_file)
    rules = selected if selected is not None else {r for r, f in FIXERS.items() if f.safe}
    ports = bool(rules & {"NET001", "NET002", "NET003"})   # the lab's layout: kept facts
    result = run(paths, AuditOptions(load=load, config=config, keep_facts=ports,
                                       compose_files=list(args.compose_files)))
    nothing_checked(result, paths, "Compose file", result.projects)
    for diagnostic in result.errors:
        err.write(f"labwarden: not checked, so not fixed: {diagnostic}\n")

    context = FixContext(settings=config.settings)
    if ports:
        from labwarden.fix.reach import Layout
        from labwarden.inventory import load_inventory

        context.layout = Layout.from_facts(result.facts, load_inventory(config),
                                           config.settings)
    if rules & {"IMG001", "IMG002", "IMG004"}:
        book = DigestBook()
        directories = _directories(paths or args.compose_files)
        if config.path:
            directories.insert(0, os.path.dirname(os.path.abspath(config.path)))
        try:
            for path in list(args.digests) + [p for p in find_lock_files(directories)
                                              if p not in map(os.path.abspath, args.digests)]:
                book.load(path)
        except (DigestFileError, OSError) as exc:
            err.write(f"labwarden: digest file: {exc}\n")
            return EXIT_ERROR
        context.digests = book
    if "CMP090" in rules:
        context.container_names = _container_names(paths, args.compose_files, load)

    fixes = plan(result.findings, selected, context,
                 roots=_directories(paths + list(args.compose_files)))
    for why in fixes.outside.values():
        err.write(f"labwarden: not fixed: {why}\n")
    out = sys.stdout
    redacted = False
    for change in fixes.changes:
        text, hidden = unified_diff(change)
        out.write(text)
        redacted = redacted or hidden
    out.flush()
    if redacted:
        err.write("labwarden: secret values in the diff are redacted: read it, but write the "
                  "changes with --apply rather than `git apply`\n")
    failed = False
    if args.apply:
        for change in list(fixes.changes):
            try:
                write(change)
            except WriteError as exc:
                err.write(f"labwarden: {exc}\n")
                failed = True
                fixes.changes.remove(change)
                for outcome in change.outcomes:
                    if outcome.status == "fixed":
                        outcome.status, outcome.message = "skipped", f"not written: {exc}"
    err.write(summary(fixes, applied=args.apply))
    if failed or result.errors:   # what was not checked may need fixes nobody saw
        return EXIT_ERROR
    return EXIT_CHANGES if fixes.changes and not args.apply else EXIT_OK


def register(commands) -> None:
    """Add `fix` to cli.py's subcommands, the way the other command modules do."""
    parser = commands.add_parser("fix", help=HELP)
    add_arguments(parser)
    parser.set_defaults(handler=run)
