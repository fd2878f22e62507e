"""What every command shares: exit codes, argument types, the report options, writing the
report, the exit code of a report, and the guard that turns any failure into exit 2.

Command modules import this, never `labwarden.cli`: the CLI imports the command modules to
build its parser, and an import back would be a cycle.
"""

from __future__ import annotations

import argparse
import os
import sys

from labwarden.errors import UsageError

TYPE_CHECKING = False       # typing stays off the start-up path
if TYPE_CHECKING:
    from collections.abc import Iterable

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
FORMATS = ("terminal", "json", "sarif", "markdown", "html", "junit")
FAIL_ON = ("critical", "high", "medium", "low", "never")
SEVERITY_NAMES = ("critical", "high", "medium", "low", "info")


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


def add_report_options(parser: argparse.ArgumentParser) -> None:
    """The options every command that reports findings shares (audit, scripts), colour
    included."""
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="report format (default: from the -o file's extension: .html, "
                        ".json, .sarif, .md, .xml for JUnit; else terminal text); an explicit "
                        "--format wins over the extension")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE "
                        "(default: standard output)")
    parser.add_argument("--fail-on", choices=FAIL_ON, default=None,
                        help="lowest severity that makes the exit code 1 (default: high, or "
                        "policy.fail_on in labwarden.yaml)")
    parser.add_argument("--min-severity", choices=SEVERITY_NAMES, default=None,
                        help="show only findings at or above this severity; a note counts "
                        "the rest, and the exit code is still decided over every finding "
                        "by --fail-on")
    parser.add_argument("--compact", action="store_true",
                        help="one line per finding, without evidence or fix (terminal and "
                        "markdown formats)")
    parser.add_argument("--allow-partial", action="store_true",
                        help="exit 0/1 even when some input could not be checked")
    parser.add_argument("--config", metavar="FILE", help="labwarden.yaml to use (default: "
                        "found beside the first path or in its parents up to the repository "
                        "root)")
    parser.add_argument("--no-config", action="store_true", help="ignore labwarden.yaml")
    color = parser.add_mutually_exclusive_group()
    color.add_argument("--color", dest="color", action="store_true", default=None,
                       help="colour the terminal report even when not writing to a terminal")
    color.add_argument("--no-color", dest="color", action="store_false",
                       help="never colour the terminal report (NO_COLOR does the same)")


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

    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # labwarden/
    found = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(package + os.sep):
            found = f"{os.path.relpath(frame.filename, os.path.dirname(package))}:{frame.lineno}"
    return found


def described_input(args) -> str:
    """`labwarden COMMAND` and what it was asked to read: paths, files, service, config,
    through the redactor every finding passes (a password in a URL, a token)."""
    from labwarden.redact import scrub

    words = [args.command]
    for name, option in (("service", ""), ("paths", ""), ("path", ""), ("compose_files", "-f"),
                         ("config", "--config"), ("env_file", "--env-file"), ("output", "-o")):
        value = getattr(args, name, None)
        for item in value if isinstance(value, list) else [value] if value else []:
            words += [option, str(item)] if option else [str(item)]
    return "`labwarden " + scrub(" ".join(words)) + "`"


def emit(text: str | Iterable[str] | Iterable[bytes], output: str | None) -> None:
    """Write a report to `output` (already accepted by `check_output`), or to stdout; in
    pieces when it comes in pieces (`report.render_pieces`), as if joined, each written as
    it comes. A piece of bytes is UTF-8 already (the JSON report): it goes out as it is."""
    pieces: Iterable[str] | Iterable[bytes] = [text] if isinstance(text, str) else text
    if output:
        try:
            with open(output, "w", encoding="utf-8") as handle:
                _write(handle, pieces)
        except OSError as exc:   # a full disk, a directory made meanwhile, no permission
            raise OutputError(f"cannot write the report to {output}: "
                              f"{exc.strerror or exc}") from None
    elif not _write(sys.stdout, pieces):
        sys.stdout.write("\n")         # a report on stdout ends its line


def _write(handle, pieces) -> bool:
    """Write the pieces; whether the last of them that is not empty ends a line."""
    binary = getattr(handle, "buffer", None)    # none on a StringIO put in stdout's place
    last: str | bytes = ""
    for piece in pieces:
        if not piece:
            continue
        last = piece
        if not isinstance(piece, bytes):
            handle.write(piece)
        elif binary is None:
            handle.write(piece.decode("utf-8"))
        else:
            handle.flush()                # what came before, first
            binary.write(piece)
    return last[-1:] in ("\n", b"\n")


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
    # The same file through symbolic or hard links: a stat() of each input, where
    # realpath() read every component of every path (a thousand files in a CI job).
    own = os.stat(path)
    if any(_stat_is(i, own) for i in inputs if i):
        return True
    if path.endswith(_INPUT_SUFFIXES) or os.path.basename(path) == ".env":
        return True
    from labwarden.sources._read import open_regular

    try:
        with open_regular(path) as handle:   # a FIFO put there since would block open()
            return handle.read(2) == b"#!"   # a script, found by its shebang
    except OSError:
        return False


def _stat_is(path: str, other: os.stat_result) -> bool:
    try:
        return os.path.samestat(os.stat(path), other)
    except (OSError, ValueError):    # gone, unreadable, a NUL in the name
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
    from labwarden.audit.runner import exit_code

    code = exit_code(result, fail_threshold(args.fail_on, config), args.allow_partial)
    if code == EXIT_ERROR:
        errors = result.errors
        more = f" (and {len(errors) - 1} more, in the report)" if len(errors) > 1 else ""
        from labwarden.redact import scrub

        # scrub: the location may be a target as written, a password in its URL included.
        sys.stderr.write(f"labwarden: not checked: {scrub(str(errors[0]))}{more}; exit 2 "
                         "(--allow-partial accepts a partial check)\n")
    return code


def fail_threshold(option: str | None, config):
    """The lowest severity that fails the run: --fail-on, else policy.fail_on, else HIGH;
    None for `never`."""
    from labwarden.model import Severity

    if option == "never":
        return None
    if option:
        return Severity.parse(option)
    return config.fail_on or Severity.HIGH
