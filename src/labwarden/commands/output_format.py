"""Which report format to write: `--format`, else what the `-o` file's extension says.

`-o report.html` alone writes HTML, `-o results.sarif` SARIF, `-o report.xml` JUnit XML. An
explicit `--format` always wins, so that scripts that name both keep working; when it
contradicts the extension a one-line note on stderr says so (but SARIF in a `.json` file is
a common CI habit, not a contradiction). No `-o`, or an extension that names no format
(`.txt`, `.log`, none): the terminal text.
"""

from __future__ import annotations

import os

DEFAULT_FORMAT = "terminal"

# Longest suffix first: `x.sarif.json` is SARIF, not JSON.
EXTENSIONS: tuple[tuple[str, str], ...] = (
    (".sarif.json", "sarif"),
    (".sarif", "sarif"),
    (".json", "json"),
    (".html", "html"),
    (".htm", "html"),
    (".md", "markdown"),
    (".markdown", "markdown"),
    (".xml", "junit"),
    (".txt", "terminal"),
    (".log", "terminal"),
)

# Explicit formats that a file of another extension is often named for, on purpose.
_COMPATIBLE = {("sarif", "json")}


def format_of_path(path: str | None) -> str | None:
    """The format a report file's name asks for, or None when it names none."""
    if not path:
        return None
    name = os.path.basename(path).lower()
    for suffix, fmt in EXTENSIONS:
        if name.endswith(suffix) and len(name) > len(suffix):
            return fmt
    return None


def output_format(explicit: str | None, output: str | None) -> tuple[str, str | None]:
    """(the format to write, a note for stderr or None)."""
    inferred = format_of_path(output)
    if explicit is None:
        return inferred or DEFAULT_FORMAT, None
    if inferred is not None and inferred != explicit and (explicit, inferred) not in _COMPATIBLE:
        return explicit, (f"labwarden: note: writing {explicit} to {output} as --format says "
                          f"(its extension suggests {inferred})")
    return explicit, None


def resolve_format(args) -> None:
    """Set `args.format` from `--format` and `-o`, noting a contradiction on stderr."""
    import sys

    args.format, note = output_format(args.format, args.output)
    if note:
        sys.stderr.write(note + "\n")
