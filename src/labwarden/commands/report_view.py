"""What a report command shows, from `--min-severity` and `--compact` (report.display): the
glue between the parsed options and the reporters, shared by `audit` and `scripts`.
"""

from __future__ import annotations

from labwarden.errors import UsageError

COMPACT_FORMATS = ("terminal", "markdown")


def check_view_options(args) -> None:
    """Refuse, before any work, `--compact` with a format it does not change (a machine
    format lists every field by design)."""
    if getattr(args, "compact", False) and args.format not in COMPACT_FORMATS:
        raise UsageError(f"--compact applies to the terminal and markdown formats, not "
                         f"--format {args.format}")


def view(result, args, config):
    """The result as the report shows it (the exit code is still decided on `result`)."""
    from labwarden.commands.common import fail_threshold
    from labwarden.model import Severity
    from labwarden.report.display import shown

    level = getattr(args, "min_severity", None)
    if not level:
        return result
    return shown(result, Severity.parse(level), fail_threshold(args.fail_on, config))
