"""Shell scripts as facts: the operator's own remediation and maintenance scripts.

A `ShellScript` holds what rules need and nothing they would have to compute with I/O:

- the text, its lines, the shebang and the shell it names;
- `bash -n`'s verdict (`SyntaxCheck`) and ShellCheck's issues (`ShellCheckIssue`, parsed
  from `shellcheck --format=json1`); None where the tool was not available;
- every simple command, parsed by a small shell lexer that knows quoting, `$(…)`, backticks,
  `${…}`, process substitution, here-documents, line continuations and the compound
  keywords, so `echo "docker exec x"` is not a docker command and `"${DIR:?}"` is known to
  be guarded. Commands handed to another shell are parsed too: `ssh host "…"`,
  `bash -c "…"`, `pct exec 102 -- …`, and here-documents fed to `ssh`/`bash`/`sh`;
- the container and service names given to `docker …` and `docker compose …`
  (`ContainerUse`), each with its line and, for Compose, what says which project is meant
  (`-p`, `-f`, `--project-directory`, or the last `cd`);
- `KnownContainers`: what the Compose projects of the tree define, explicit `container_name`
  values and Compose's default names `<project>-<service>-<n>`, plus the names the scanned
  scripts create themselves with `docker run --name`.

Nothing here judges: the rules in `labwarden.rules.scripts` do.

One job a module, each importing only those before it:

- `words`: what the parser yields (`Part`, `Word`, `Heredoc`, `Command`) and `unwrap`;
- `lexer`: shell text into tokens and words;
- `parser`: tokens into commands, and `parse_script` with the commands handed on;
- `containers`: the container names docker commands use (`container_uses`);
- `known`: the containers the Compose projects define (`load_known_containers`);
- `fact`: the `ShellScript` fact and the checkers' verdicts it carries;
- `discovery`: finding scripts on disk and reading one into a fact;
- `checkers`: running `bash -n` and ShellCheck, bounded.

The names below are re-exported for `from labwarden.sources.scripts import X`. The limits
(`SHELLCHECK_SECONDS`…) are read where they are defined: change them there, not here.
"""

from __future__ import annotations

from labwarden.sources.scripts.checkers import (
    SHELLCHECK_BATCH, SHELLCHECK_MEMORY, SHELLCHECK_SECONDS, ShellCheckBound, ShellCheckError,
    check_syntax, find_bash, find_shellcheck, run_shellcheck)
from labwarden.sources.scripts.containers import ContainerUse, container_uses
from labwarden.sources.scripts.discovery import (
    MAX_SCRIPT_BYTES, SCRIPT_SUFFIXES, SHELLS, SKIPPED_DIRS, find_scripts, is_shell_script,
    parse_shebang, read_script)
from labwarden.sources.scripts.fact import ShellCheckIssue, ShellScript, SyntaxCheck
from labwarden.sources.scripts.known import (
    KnownContainer, KnownContainers, KnownProject, load_known_containers)
from labwarden.sources.scripts.lexer import MAX_SUBSTITUTION_DEPTH
from labwarden.sources.scripts.parser import (
    MAX_NESTING, REDIRECTS, ParsedScript, _split_assignment, parse_commands, parse_script)
from labwarden.sources.scripts.words import Command, Heredoc, Part, Word, unwrap

__all__ = [
    "MAX_NESTING", "MAX_SCRIPT_BYTES", "MAX_SUBSTITUTION_DEPTH", "REDIRECTS", "SCRIPT_SUFFIXES",
    "SHELLCHECK_BATCH", "SHELLCHECK_MEMORY", "SHELLCHECK_SECONDS", "SHELLS", "SKIPPED_DIRS",
    "Command", "ContainerUse", "Heredoc", "KnownContainer", "KnownContainers", "KnownProject",
    "ParsedScript", "Part", "ShellCheckBound", "ShellCheckError", "ShellCheckIssue",
    "ShellScript", "SyntaxCheck", "Word", "_split_assignment", "check_syntax",
    "container_uses", "find_bash", "find_scripts", "find_shellcheck", "is_shell_script",
    "load_known_containers", "parse_commands", "parse_script", "parse_shebang", "read_script",
    "run_shellcheck", "unwrap",
]
