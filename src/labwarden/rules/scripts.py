"""Rules for the operator's own shell scripts (remediation, maintenance, backups).

The seed's security audit shipped with a "script validation report" (every remediation
script checked before it was run) and a "container name fix guide" (scripts that addressed
containers by names the stacks did not define). These rules make both repeatable:
the script parses, ShellCheck is clean, it stops on the first error, it cannot wipe `/`
with an empty variable, it does not run code piped from the network, it holds no secret,
it checks for root before it needs it, and every container it touches exists.
"""

from __future__ import annotations

import difflib
import re

from labwarden.model import Hit, Impact, Severity
from labwarden.knowledge import secrets as data
from labwarden.redact import redact, redact_assignment, scrub, url_password
from labwarden.rules.registry import rule
from labwarden.sources.scripts import (
    Command, ContainerUse, Part, ShellScript, Word, _split_assignment)
from labwarden.sources.scripts.meant import meant, role_of_words

NO_RESTART = Impact("none", (0, 0))
ROLLBACK_PLAN = "11.3.2"             # "Rollback plan ready": the scripts that carry it out


# --- evidence without secrets ------------------------------------------------------------------
# Evidence quoted from a script goes through `scrub` (URL passwords, secret query values,
# `Authorization:` and API-key headers, `-u user:pass`…); the rule runner scrubs every finding
# again, with the values the script assigns to secrets.


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


# --- SCR001 ------------------------------------------------------------------------------------

_HEREDOC_AT = re.compile(r"here-document at line (\d+)")


@rule("SCR001", "script-syntax-error", Severity.HIGH,
      title="Shell script does not parse", on=ShellScript, checklist=[ROLLBACK_PLAN],
      refs=["GNU Bash Reference Manual: The Set Builtin (-n, noexec)"], impact=NO_RESTART)
def script_syntax_error(script: ShellScript, settings):
    """Reports a script that `bash -n` rejects (a syntax error, at its line), and a
    here-document left open until the end of the file, which bash accepts with a warning.

    Why it matters:
    A remediation script is run once, under pressure, often half-way through a change
    window. A syntax error stops it at that line, after the lines before it already ran:
    the system is left half-changed, with no rollback. An unterminated here-document
    silently swallows every command after it.

    Example:
    ```bash
    #!/bin/bash
    if [ -f /etc/iptables/rules.v4 ]; then
        iptables-restore < /etc/iptables/rules.v4
    # `fi` is missing: bash -n reports "syntax error: unexpected end of file"
    ```

    Fix:
    Correct the line bash names and check every script with `bash -n script.sh` (and
    ShellCheck) before it is run; `labwarden scripts` does both.
    """
    check = script.syntax
    if check is None:
        return
    if not check.ok:
        yield Hit(f"`bash -n` rejects the script: {check.message}", script.loc(check.line),
                  resource="syntax-error", evidence=_short(check.message),
                  fix="correct the syntax at this line; the script cannot run as written")
    for line, message in check.warnings:
        start = _HEREDOC_AT.search(message)
        at = int(start.group(1)) if start else line
        yield Hit(f"`bash -n` warns: {message}", script.loc(at), severity=Severity.MEDIUM,
                  resource=f"syntax-warning:{at}", evidence=_short(message),
                  fix="terminate the here-document with its delimiter alone on a line")


# --- SCR002 ------------------------------------------------------------------------------------

SHELLCHECK_SEVERITY = {"error": Severity.MEDIUM, "warning": Severity.LOW,
                       "info": Severity.INFO, "style": Severity.INFO}
# Reported, more precisely, by SCR004 (rm -rf with a variable that may be empty).
COVERED_ELSEWHERE = frozenset({2114, 2115})
# ShellCheck's notes that accompany a parse error ("the mentioned syntax error was in this
# simple command", "fix any mentioned problems and try again").
PARSE_COMPANIONS = frozenset({1009, 1072, 1073})


# INFO is the rule's own severity: a hit can raise it (error, warning), and an INFO hit needs
# no override (Severity.INFO is 0, which the rule runner reads as "no override").
@rule("SCR002", "shellcheck-finding", Severity.INFO,
      title="ShellCheck reports a problem", on=ShellScript, checklist=[ROLLBACK_PLAN],
      refs=["ShellCheck wiki (https://www.shellcheck.net/wiki/)"], impact=NO_RESTART)
def shellcheck_finding(script: ShellScript, settings):
    """Reports each issue ShellCheck finds (`shellcheck --format=json1`), with its line and
    SC code. ShellCheck's levels map to severities: error → MEDIUM, warning → LOW,
    info and style → INFO (style is reported only with `--shellcheck-severity style`).
    SC2114 and SC2115 (`rm -rf "$VAR/"`) are left to SCR004, and parse errors to SCR001
    when `bash -n` already rejected or warned about the script. When ShellCheck is not
    installed this rule cannot run, and the report says so as a coverage gap.

    Why it matters:
    ShellCheck finds the mistakes that make a script do something other than what it
    reads as: unquoted expansions split on spaces, `cd` failures ignored, `$?` tested
    after another command, variables assigned in a pipeline's subshell and lost.

    Example:
    ```bash
    #!/bin/bash
    cd $BACKUP_DIR      # SC2086: double quote to prevent globbing and word splitting
    rm old-*.tar        # SC2164 (on the cd): use `cd … || exit` in case cd fails
    ```

    Fix:
    Follow the SC code's page on the ShellCheck wiki. Where an issue is a deliberate
    choice, say so in the script with `# shellcheck disable=SC2086` and a reason.
    """
    issues = script.shellcheck
    if not issues:
        return
    syntax = script.syntax
    parse_problem = syntax is not None and (not syntax.ok or bool(syntax.warnings))
    for issue in issues:
        if issue.code in COVERED_ELSEWHERE:
            continue
        if parse_problem and (issue.code in PARSE_COMPANIONS or
                              1000 <= issue.code < 2000 and issue.level == "error"):
            continue                     # SCR001 reports the parse problem
        severity = SHELLCHECK_SEVERITY.get(issue.level, Severity.INFO)
        yield Hit(f"SC{issue.code} ({issue.level}): {issue.message}", script.loc(issue.line),
                  resource=f"SC{issue.code}:{issue.line}:{issue.column}",
                  evidence=f"SC{issue.code} at {issue.line}:{issue.column}",
                  severity=severity,
                  fix=f"see https://www.shellcheck.net/wiki/SC{issue.code}")


# --- SCR003 ------------------------------------------------------------------------------------

_SHORT_OPTIONS = {"e": "errexit", "u": "nounset"}
_PIPEFAIL_SHELLS = frozenset({"bash", "zsh", "ksh", "mksh"})


def strict_options(script: ShellScript) -> tuple[set[str], int | None]:
    """The options `set` turns on at the top level (or the shebang passes), and the first
    line that sets any."""
    enabled: set[str] = set()
    first: int | None = None
    flags = list(script.shebang_flags)
    if flags:
        _read_set_flags(flags, enabled)
        if enabled:
            first = 1
    for command in script.commands:
        if command.origin:
            continue
        program, args, _ = command.unwrapped()
        if program != "set":
            continue
        before = len(enabled)
        _read_set_flags([w.value for w in args], enabled)
        if len(enabled) > before and first is None:
            first = command.line
    return enabled, first


def _read_set_flags(words: list[str], enabled: set[str]) -> None:
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if not word.startswith("-") or word in ("-", "--"):
            continue
        for position, char in enumerate(word[1:], start=1):
            if char == "o":
                name = word[position + 1:] or (words[i] if i < len(words) else "")
                if not word[position + 1:]:
                    i += 1
                enabled.add(name)
                break
            if char in _SHORT_OPTIONS:
                enabled.add(_SHORT_OPTIONS[char])


@rule("SCR003", "missing-strict-mode", Severity.MEDIUM,
      title="Script does not stop on errors", on=ShellScript, checklist=[ROLLBACK_PLAN],
      refs=["GNU Bash Reference Manual: The Set Builtin (errexit, nounset, pipefail)"],
      impact=NO_RESTART)
def missing_strict_mode(script: ShellScript, settings):
    """Reports a script that does not turn on `set -euo pipefail`: `set -e` (stop at the
    first failing command), `set -u` (an unset variable is an error) and
    `set -o pipefail` (a pipeline fails when any command in it fails), in any combination
    of `set` commands, in any order, or on the shebang line. `#!/bin/sh` scripts need only
    `set -eu`: dash has no `pipefail`. Files without a shebang or executable bit are taken
    for libraries that are sourced, and are not reported.

    Why it matters:
    Without `-e` a remediation script goes on after a failed step: a failed `cd` followed by
    `rm -rf *` deletes the wrong directory, a failed `docker stop` is followed by a backup of
    a running database. Without `-u` a misspelt variable is an empty string. Without
    `pipefail`, `pg_dump … | gzip > backup.gz` succeeds when the dump fails.

    Example:
    ```bash
    #!/bin/bash
    cd /srv/backups
    rm -rf old/*
    ```

    Fix:
    Put `set -euo pipefail` right after the shebang (`set -eu` in `#!/bin/sh` scripts), and
    handle the commands that may fail on purpose with `|| true` or an `if`.
    """
    if script.library:
        return
    enabled, first = strict_options(script)
    wanted = ["errexit", "nounset"]
    if script.shell in _PIPEFAIL_SHELLS:
        wanted.append("pipefail")
    missing = [name for name in wanted if name not in enabled]
    if not missing:
        return
    spelled = {"errexit": "`set -e`", "nounset": "`set -u`", "pipefail": "`set -o pipefail`"}
    fix = "set -euo pipefail" if "pipefail" in wanted else "set -eu"
    where = first if first is not None else script.first_command_line()
    yield Hit(f"the script goes on after errors: {', '.join(spelled[m] for m in missing)} "
              f"{'is' if len(missing) == 1 else 'are'} not set", script.loc(where),
              resource="strict-mode", evidence=f"missing: {', '.join(missing)}",
              fix=f"add `{fix}` after the shebang")


# --- SCR004 ------------------------------------------------------------------------------------

# $$ $! $? $# $0 $-, and what bash or login always sets.
_NEVER_EMPTY = frozenset({"$", "!", "?", "#", "0", "-", "HOME", "PWD", "UID", "EUID", "PPID",
                          "RANDOM", "SECONDS", "LINENO", "BASHPID", "HOSTNAME", "BASH_SOURCE"})
_GLOB = re.compile(r"[*?\[]")
# Commands whose output is never empty: `$(dirname "$0")` cannot turn a path into `/`.
_NEVER_EMPTY_OUTPUT = frozenset({"dirname", "pwd", "date", "hostname", "id", "whoami",
                                 "uname", "mktemp"})


@rule("SCR004", "unsafe-rm-rf", Severity.HIGH,
      title="rm -rf on a path built from a variable that may be empty", on=ShellScript,
      checklist=[ROLLBACK_PLAN],
      refs=["ShellCheck SC2115", "CWE-1188",
            "valve/steam-for-linux#3671 (rm -rf \"$STEAMROOT/\"*)"],
      impact=NO_RESTART)
def unsafe_rm_rf(script: ShellScript, settings):
    """Reports `rm -r`/`rm -rf` whose path holds a variable or command substitution that is
    unquoted or may be empty: CRITICAL when an empty value turns the path into `/` or `/*`
    (`rm -rf "$DIR"/*`, `rm -rf $A/$B`), HIGH when it turns it into another directory's
    whole content (`rm -rf "/srv/backups/$NAME"` → `/srv/backups/`) or a path anchored at
    `/` (`"$BASE/data"` → `/data`), or when the expansion is unquoted (word splitting and
    globbing). A variable is taken as never empty when it is written `${VAR:?}`, tested with
    `[ -n … ]`/`[ -z … ]` earlier in the script, only ever assigned literal values, or a
    `for` loop variable.

    Why it matters:
    An empty or unset variable is the most common way a cleanup script deletes a whole
    system: Steam's installer ran `rm -rf "$STEAMROOT/"*` with STEAMROOT empty and wiped its
    users' home directories. Unquoted, a path with a space deletes two other paths.

    Example:
    ```bash
    BACKUP_DIR=$1
    rm -rf "$BACKUP_DIR"/*
    ```

    Fix:
    Make the shell refuse an empty value and quote the expansion:
    `rm -rf -- "${BACKUP_DIR:?}"/*`, or check it first
    (`[ -n "$BACKUP_DIR" ] || exit 1`).
    """
    facts = _VariableFacts(script)
    for command in script.commands:
        program, args, _ = command.unwrapped()
        if program != "rm":
            continue
        recursive, paths, options_done = False, [], False
        for word in args:
            text = word.literal
            if not options_done and text is not None and text.startswith("-") and text != "-":
                if text == "--":
                    options_done = True
                elif text == "--recursive" or (not text.startswith("--") and
                                               set(text[1:]) & {"r", "R"}):
                    recursive = True
                continue
            paths.append(word)
        if not recursive:
            continue
        for word in paths:
            verdict = _rm_verdict(word, command.line, facts)
            if verdict is None:
                continue
            severity, why, fixed = verdict
            yield Hit(f"`rm -rf {word.raw}`: {why}", script.loc(command.line),
                      resource=f"rm:{word.raw}", severity=severity,
                      evidence=_short(scrub(command.text)),
                      fix=fixed if fixed.startswith("dir=") else f"rm -rf -- {fixed}")


class _VariableFacts:
    """What the script says about its variables before a given line."""

    def __init__(self, script: ShellScript):
        self.guarded: dict[str, int] = {}          # name -> first line it is known set
        self.values: dict[str, list[Word]] = {}
        self.loop_vars = script.loop_vars
        tested_count: int | None = None
        for command in script.commands:
            program, args, _ = command.unwrapped()
            for name, word in command.assignments:
                self.values.setdefault(name, []).append(word)
            if program in ("export", "local", "declare", "readonly", "typeset"):
                for word in args:
                    split = _split_assignment(word)
                    if split:
                        self.values.setdefault(split[0], []).append(split[1])
            if program in ("read", "mapfile", "readarray", "getopts"):
                for word in args:
                    if word.literal and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", word.literal):
                        self.values.setdefault(word.literal, []).append(Word([], 0, ""))
            everything = command.words + [w for _, w in command.assignments]
            for word in everything:
                for part in word.parts:
                    if part.kind == "param" and part.op in (":?", ":=") and \
                            (part.op == ":?" or _literal_default(part)):
                        self.guarded.setdefault(part.name, command.line)
            if program in ("[", "[[", "test"):
                values = [w for w in command.words[1:]]
                for i, word in enumerate(values[:-1]):
                    if word.literal in ("-n", "-z"):
                        for part in values[i + 1].parts:
                            if part.kind == "param" and part.name:
                                self.guarded.setdefault(part.name, command.line)
                for word in values:
                    if any(p.kind == "param" and p.name == "#" for p in word.parts):
                        tested_count = tested_count or command.line
        if tested_count is not None:
            for digit in "123456789":
                self.guarded.setdefault(digit, tested_count)

    def constant(self, name: str) -> bool:
        """Only ever assigned literal, non-empty values without spaces or globs, or the
        output of `mktemp`."""
        values = self.values.get(name)
        if not values:
            return False
        for word in values:
            if _is_mktemp(word):
                continue
            text = word.literal
            if not text or any(c.isspace() for c in text) or _GLOB.search(text):
                return False
        return True

    def may_be_empty(self, part: Part, line: int) -> bool:
        if part.kind == "arith":
            return False
        if part.kind in ("cmd", "proc"):
            programs = {c.unwrapped()[0] for c in part.commands if not c.pipe_from}
            return not programs or not programs <= _NEVER_EMPTY_OUTPUT
        if part.op == "#len" or part.op == ":?":
            return False
        if part.op in (":-", ":="):
            return not _literal_default(part) and self._var_may_be_empty(part.name, line)
        if part.op == ":+":
            return True
        if not part.name:
            return True
        return self._var_may_be_empty(part.name, line)

    def _var_may_be_empty(self, name: str, line: int) -> bool:
        if name in _NEVER_EMPTY or name in self.loop_vars or self.constant(name):
            return False
        guarded = self.guarded.get(name)
        return guarded is None or guarded > line

    def splits(self, part: Part) -> bool:
        """An unquoted expansion whose value may hold spaces or glob characters."""
        if part.quoted or part.kind == "arith":
            return False
        if part.kind == "param" and (part.name in _NEVER_EMPTY or self.constant(part.name)
                                     or part.op == "#len"):
            return False
        return True


def _is_mktemp(word: Word) -> bool:
    return len(word.parts) == 1 and word.parts[0].kind == "cmd" and \
        [c.unwrapped()[0] for c in word.parts[0].commands] == ["mktemp"]


def _literal_default(part: Part) -> bool:
    return bool(part.arg) and "$" not in part.arg and "`" not in part.arg


_ROOTLIKE = frozenset({"", "*", ".", ".*", "*/*", "*/"})


def _render(word: Word, empty: set[int]) -> str:
    out = []
    for index, part in enumerate(word.parts):
        if part.kind == "lit":
            out.append(part.text)
        elif index not in empty:
            out.append("X")
    return re.sub(r"/{2,}", "/", "".join(out))


def _rm_verdict(word: Word, line: int, facts: _VariableFacts):
    expansions = [(i, p) for i, p in enumerate(word.parts) if p.kind != "lit"]
    if not expansions:
        return None
    empty = {i for i, p in expansions if facts.may_be_empty(p, line)}
    unquoted = [p for _, p in expansions if facts.splits(p)]
    fixed = _guarded_spelling(word, empty)
    if empty:
        all_empty = _render(word, empty)
        full = _render(word, set())
        when = _when_empty([p for i, p in expansions if i in empty])
        if all_empty.startswith("/") and all_empty.strip("/") in _ROOTLIKE:
            return (Severity.CRITICAL,
                    f"{when} this deletes `{all_empty}`, the whole filesystem", fixed)
        first_lit = next((p for p in word.parts if p.kind != "lit" or p.text), None)
        leading = first_lit is not None and first_lit.kind != "lit" and \
            word.parts.index(first_lit) in empty and all_empty.startswith("/")
        trailing = all_empty.rstrip("*").endswith("/") and not full.rstrip("*").endswith("/")
        if leading or trailing:
            return Severity.HIGH, f"{when} this deletes `{all_empty}` instead", fixed
    if unquoted:
        shown = " and ".join(f"`{p.text}`" for p in unquoted)
        verb = "is" if len(unquoted) == 1 else "are"
        return (Severity.HIGH, f"{shown} {verb} unquoted: a value with a space or a glob "
                "character makes rm delete other paths", fixed)
    return None


def _when_empty(parts: list[Part]) -> str:
    """`when `A` and `B` are empty or unset`, `when `$(cat f)` prints nothing`."""
    names = list(dict.fromkeys(p.name for p in parts if p.kind == "param" and p.name))
    outputs = list(dict.fromkeys(p.text for p in parts if p.kind != "param"))
    clauses = []
    if names:
        listed = " and ".join(f"`{n}`" for n in names)
        clauses.append(f"{listed} {'is' if len(names) == 1 else 'are'} empty or unset")
    if outputs:
        listed = " and ".join(f"`{_short(o, 60)}`" for o in outputs)
        clauses.append(f"{listed} {'prints' if len(outputs) == 1 else 'print'} nothing")
    return "when " + " or ".join(clauses)


def _guarded_spelling(word: Word, empty: set[int]) -> str:
    """The path quoted, each possibly empty variable written `${VAR:?}`, globs left bare; a
    command substitution that may print nothing is assigned to a variable first."""
    pieces: list[tuple[str, bool]] = []           # (text, inside quotes)
    before = ""
    for index, part in enumerate(word.parts):
        if part.kind in ("cmd", "proc") and index in empty and not before:
            before = f'dir="{part.text}"; '
            pieces.append(("${dir:?}", True))
            continue
        if part.kind == "lit":
            for chunk in re.split(r"([*?])", part.text):
                if chunk:
                    glob = chunk in ("*", "?") and not part.quoted
                    pieces.append((chunk.replace('"', '\\"'), not glob))
        elif part.kind == "param" and part.name and index in empty and part.op in ("", ":-"):
            pieces.append((f"${{{part.name}:?}}", True))
        else:
            pieces.append((part.text, True))
    out, open_quote = [], False
    for text, quoted in pieces:
        if quoted != open_quote:
            out.append('"')
            open_quote = quoted
        out.append(text)
    if open_quote:
        out.append('"')
    return "".join(out) if not before else before + "rm -rf -- " + "".join(out)


# --- SCR005 ------------------------------------------------------------------------------------

_SHELL_PROGRAMS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "python",
                             "python3", "perl"})
_FETCHERS = frozenset({"curl", "wget"})
_URL = re.compile(r"(?:https?|ftp)://\S+")


def _fetch_url(command: Command) -> str:
    for word in command.unwrapped()[1]:
        match = _URL.search(word.value)
        if match:
            return match.group()
    return ""


def _fetches(commands: list[Command]) -> Command | None:
    for command in commands:
        if command.unwrapped()[0] in _FETCHERS:
            return command
        up = command.pipe_from
        while up is not None:
            if up.unwrapped()[0] in _FETCHERS:
                return up
            up = up.pipe_from
    return None


@rule("SCR005", "remote-script-piped-to-shell", Severity.HIGH,
      title="Code downloaded and run without verification", on=ShellScript,
      checklist=[ROLLBACK_PLAN],
      refs=["CWE-494: Download of Code Without Integrity Check"], impact=NO_RESTART)
def remote_script_piped_to_shell(script: ShellScript, settings):
    """Reports code fetched with `curl` or `wget` and handed straight to a shell (or to
    python or perl): `curl … | sh`, `wget -O- … | sudo bash`, `bash <(curl …)`,
    `sh -c "$(curl …)"`, `eval "$(wget -qO- …)"`, `source <(curl …)`.

    Why it matters:
    Whatever the server sends runs with the script's privileges (often root), unread and
    unverified: a compromised download site, a hijacked DNS name or a truncated transfer
    (the shell runs half a script) all execute on the host.

    Example:
    ```bash
    curl -fsSL https://get.docker.com | sh
    ```

    Fix:
    Download to a file, verify it against a published checksum or signature, read it,
    then run it: `curl -fsSLo get-docker.sh URL && sha256sum -c get-docker.sh.sha256 &&
    sh get-docker.sh`; better, install from the distribution's signed packages (apt).
    """
    seen: set[int] = set()
    for command in script.commands:
        program, args, _ = command.unwrapped()
        fetch = None
        if program in _SHELL_PROGRAMS:
            up = command.pipe_from
            while up is not None and fetch is None:
                if up.unwrapped()[0] in _FETCHERS:
                    fetch = up
                up = up.pipe_from
        if fetch is None and (program in _SHELL_PROGRAMS or program in ("eval", "source", ".")):
            for word in args:
                for part in word.parts:
                    if part.kind in ("cmd", "proc") and fetch is None:
                        fetch = _fetches(part.commands)
        if fetch is None or fetch.line in seen:
            continue
        seen.add(fetch.line)
        url = _fetch_url(fetch)
        shown = scrub(url) if url else fetch.unwrapped()[0]
        yield Hit(f"code downloaded from {shown} is run by `{program}` without being "
                  "verified", script.loc(min(fetch.line, command.line)),
                  resource=f"pipe-to-shell:{scrub(url) or command.line}",
                  evidence=_short(scrub(f"{fetch.text} | {command.text}" if command.pipe_from
                                        else command.text)),
                  fix="download to a file, check its sha256sum or signature, then run it")


# --- SCR006 ------------------------------------------------------------------------------------

_MYSQL = frozenset({"mysql", "mysqladmin", "mysqldump", "mysqlcheck", "mysqlsh", "mariadb",
                    "mariadb-admin", "mariadb-dump", "mariadb-check", "mysqlimport"})
_HEREDOC_ASSIGNMENT = re.compile(
    r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*(?:=|:\s)\s*(\S.*?)\s*$")
_AUTH_HEADER = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*:\s*(?:(Bearer|Basic|Token|Bot)\s+)?(\S+)",
                          re.I)
_FLAG_WORDS = frozenset({"REQUIREPASS", "MASTERAUTH"})
_CONTAINER_TOOLS = frozenset({"docker", "podman", "buildah", "nerdctl", "docker-compose"})


def _secret_value(value: str | None) -> bool:
    if not value or "$" in value or "`" in value:
        return False
    if data.is_setting_value(value) or data.is_password_hash(value):
        return False
    return data.default_reason(value) != "a placeholder from a template"


def script_secrets(script: ShellScript) -> list[tuple[int, str, str, str]]:
    """(line, label, value, kind) of every secret written in the script. kind: assignment,
    argument, url, heredoc. Values are for redaction only; never print them."""
    found: dict[tuple[int, str], tuple[int, str, str, str]] = {}

    def add(line: int, label: str, value: str | None, kind: str) -> None:
        if _secret_value(value):
            found.setdefault((line, label), (line, label, value, kind))

    for command in script.commands:
        for name, word in command.assignments:
            if data.is_secret_name(name):
                add(command.line, name, word.literal, "assignment")
        program, args, _ = command.unwrapped()
        _argument_secrets(command, program, args, add)
        for word in command.words + [w for _, w in command.assignments]:
            literal = word.value
            password = url_password(literal)
            if password is not None and "://" in literal:
                add(command.line, "URL credentials", password, "url")
    for doc in script.heredocs:
        for number, text in doc.body:
            match = _HEREDOC_ASSIGNMENT.match(text)
            if match and data.is_secret_name(match.group(1)):
                # a `$` is a variable, or in a quoted here-document a template's placeholder
                value = re.split(r"\s+#", match.group(2))[0].strip().strip("'\"")
                add(number, match.group(1), value, "heredoc")
            password = url_password(text)
            if password is not None:
                add(number, "URL credentials", password, "url")
    return sorted(found.values())


# A password written in an SQL statement: `ALTER USER app PASSWORD '…'`, `CREATE ROLE …
# ENCRYPTED PASSWORD '…'`, `IDENTIFIED [WITH plugin] BY '…'`, `SET PASSWORD … = '…'`.
_SQL_PASSWORD = re.compile(
    r"(?:\bPASSWORD\s*(?:=\s*)?(?:PASSWORD\s*\(\s*)?|\bIDENTIFIED\s+(?:WITH\s+\w+\s+)?BY\s+)"
    r"'((?:[^']|'')*)'", re.I)
# The SQL clients and the option that takes a statement.
_SQL_OPTIONS = {"psql": ("-c", "--command"), **{m: ("-e", "--execute") for m in _MYSQL}}


def _sql_secrets(command: Command, add) -> None:
    """Passwords in statements given to `psql -c` / `mysql -e`, wherever the client runs
    (`docker exec db psql -c …`)."""
    words = command.words
    client = None
    for index, word in enumerate(words):
        text = word.value
        base = text.rsplit("/", 1)[-1]
        if base in _SQL_OPTIONS:
            client = base
            continue
        if client is None:
            continue
        short, long_ = _SQL_OPTIONS[client]
        statement = None
        if text in (short, long_) and index + 1 < len(words):
            statement = words[index + 1].value
        elif text.startswith(long_ + "="):
            statement = text[len(long_) + 1:]
        elif text.startswith(short) and len(text) > 2 and not text.startswith("--"):
            statement = text[2:]
        if statement:
            for match in _SQL_PASSWORD.finditer(statement):
                add(command.line, f"{client} {short}", match.group(1).replace("''", "'"),
                    "sql")


def _argument_secrets(command: Command, program: str | None, args: list[Word], add) -> None:
    _sql_secrets(command, add)
    values = [w.literal for w in args]
    line = command.line
    for index, word in enumerate(args):
        text = values[index]
        following = values[index + 1] if index + 1 < len(values) else None
        if text is None:
            continue
        split = _split_assignment(word)
        if split and data.is_secret_name(split[0]):
            add(line, split[0], split[1].literal, "assignment")
            continue
        if program in _MYSQL and text.startswith("-p") and len(text) > 2 and text[2] != "-":
            add(line, "-p", text[2:], "argument")
            continue
        if program in ("sshpass", "redis-cli") and text in ("-p", "-a") and \
                (program, text) in (("sshpass", "-p"), ("redis-cli", "-a")):
            add(line, text, following, "argument")
            continue
        if program == "sshpass" and text.startswith("-p") and len(text) > 2:
            add(line, "-p", text[2:], "argument")
            continue
        if program == "docker" and values[:1] == ["login"] and text == "-p":
            add(line, "-p", following, "argument")
            continue
        if text == "reset-admin-password":
            add(line, "reset-admin-password", following, "argument")
            continue
        if program in ("curl",) and text in ("-u", "--user") and following and ":" in following:
            add(line, text, following.split(":", 1)[1], "argument")
            continue
        if program in ("curl", "wget", "http", "xh") and text in ("-H", "--header") and \
                following:
            header = _AUTH_HEADER.match(following)
            if header and (header.group(1).lower() in ("authorization", "proxy-authorization")
                           or data.is_secret_name(header.group(1).replace("-", "_"))):
                add(line, header.group(1), header.group(3), "argument")
            continue
        if text.startswith("-") and len(text) > 2:
            flag, eq, inline = text.lstrip("-").partition("=")
            name = flag.upper().replace("-", "_").replace(".", "_")
            if ("STDIN" in name or "PROMPT" in name or name.startswith("NO_")
                    or not (name in _FLAG_WORDS or data.is_secret_name(name))):
                continue
            if program in _CONTAINER_TOOLS and name in ("SECRET", "SECRETS"):
                continue                 # docker build --secret id=x,src=FILE: a reference
            value = inline if eq else (following if following and not following.startswith("-")
                                       else None)
            add(line, "--" + flag if text.startswith("--") else "-" + flag, value, "argument")
    if program == "chpasswd" and command.pipe_from is not None:
        source_program, source_args, _ = command.pipe_from.unwrapped()
        if source_program in ("echo", "printf"):
            for word in source_args:
                if word.literal and ":" in word.literal:
                    add(line, "chpasswd", word.literal.split(":", 1)[1].split("\\n")[0],
                        "argument")
    if program == "htpasswd" and args and args[0].literal and args[0].literal.startswith("-") \
            and "b" in args[0].literal:
        add(line, "htpasswd -b", args[-1].literal, "argument")


@rule("SCR006", "secret-in-script", Severity.HIGH,
      title="Secret written in a script", on=ShellScript, checklist=["2.1.1"],
      refs=["CWE-798: Use of Hard-coded Credentials"], impact=NO_RESTART)
def secret_in_script(script: ShellScript, settings):
    """Reports a password, token or key written in the script: an assignment to a
    secret-named variable (`DB_PASSWORD=…`, `export API_TOKEN=…`, `PGPASSWORD=… psql`), a
    secret on a command line (`mysql -p…`, `--password …`, `sshpass -p`, `curl -u user:…`,
    `Authorization: Bearer …`, `grafana-cli admin reset-admin-password …`), a password in
    an SQL statement given to `psql -c` or `mysql -e` (`ALTER USER … PASSWORD '…'`,
    `IDENTIFIED BY '…'`, also through `docker exec`), a URL with credentials, or a
    secret-named line in a here-document (a `.env` written by the
    script). Values from variables, command substitutions and files are not reported. The
    value is never shown: evidence carries its length and, for long ones, two characters.

    Why it matters:
    Scripts are committed, copied to hosts, attached to tickets and backed up; a password in
    one is a password in all of those places, for as long as it is not rotated. On a
    command line it is also visible to every user in `ps` while the command runs.

    Example:
    ```bash
    PGPASSWORD='s3cr3t-pa55word' pg_dump -h db -U app app > app.sql
    ```

    Fix:
    Read it at run time from a file only root can read, or from the password manager:
    `PGPASSWORD="$(cat /root/.secrets/pg_app)"`, `--password-stdin`, `~/.pgpass`; then
    rotate the secret, since it is in the repository's history.
    """
    for line, label, value, kind in script_secrets(script):
        if kind == "url":
            message = "a URL with a password is written in the script"
            evidence = f"URL password {redact(value)}"
        elif kind == "heredoc":
            message = f"a here-document in the script holds the value of secret `{label}`"
            evidence = redact_assignment(label, value)
        elif kind == "assignment":
            message = f"secret `{label}` is assigned a literal value in the script"
            evidence = redact_assignment(label, value)
        elif kind == "sql":
            message = f"a password is written in the SQL statement given to `{label}`"
            evidence = f"{label} \"… PASSWORD {redact(value)} …\""
        else:
            message = f"a secret is passed on the command line (`{label}`)"
            evidence = f"{label} {redact(value)}"
        reason = data.default_reason(value)
        if reason:
            message += f"; it is {reason}"
        # `secret:psql` and `password:psql` read as credentials to the redactor
        resource = f"sql-statement:{label}" if kind == "sql" else f"secret:{label}:{kind}"
        yield Hit(message, script.loc(line), resource=resource,
                  evidence=evidence,
                  fix="read the secret at run time from a root-only file or the password "
                      "manager, then rotate it")


# --- SCR007 ------------------------------------------------------------------------------------

_ROOT_PROGRAMS = frozenset({
    "iptables", "ip6tables", "iptables-save", "iptables-restore", "ip6tables-restore",
    "ip6tables-save", "nft", "ufw", "firewall-cmd", "netfilter-persistent",
    "useradd", "usermod", "userdel", "groupadd", "groupmod", "groupdel", "chpasswd",
    "visudo", "adduser", "deluser", "modprobe", "rmmod", "insmod", "swapon", "swapoff",
    "reboot", "shutdown", "poweroff", "halt", "pct", "qm", "pvesm", "pvesh", "pveam", "pveum",
    "pvecm", "vzdump", "fdisk", "sfdisk", "parted", "wipefs", "cryptsetup", "lvcreate",
    "lvremove", "lvextend", "lvresize", "vgcreate", "vgextend", "pvcreate", "update-grub",
    "update-initramfs", "setcap", "chattr", "fail2ban-client", "certbot", "chown", "chgrp",
    "dpkg-reconfigure", "update-alternatives", "locale-gen", "ldconfig",
})
_APT = frozenset({"apt", "apt-get", "aptitude"})
_APT_VERBS = frozenset({"install", "remove", "purge", "update", "upgrade", "full-upgrade",
                        "dist-upgrade", "autoremove", "autoclean", "clean", "reinstall",
                        "build-dep", "satisfy"})
_SYSTEMCTL_VERBS = frozenset({
    "start", "stop", "restart", "reload", "try-restart", "reload-or-restart", "enable",
    "disable", "reenable", "mask", "unmask", "daemon-reload", "daemon-reexec", "edit",
    "set-property", "kill", "isolate", "reboot", "poweroff", "halt", "set-default", "link",
    "revert", "preset", "reset-failed"})
_SYSTEM_PATHS = ("/etc/", "/usr/", "/boot/", "/lib/", "/lib64/", "/sbin/", "/bin/", "/root/",
                 "/var/lib/", "/sys/", "/proc/sys/", "/opt/")
# Programs that write to their last argument, and programs that write to any of them.
_WRITE_LAST = frozenset({"cp", "mv", "install", "ln", "rsync"})
_WRITE_ANY = frozenset({"chmod", "tee", "touch", "mkdir", "rm", "rmdir", "truncate", "sed"})


def _root_need(command: Command) -> str | None:
    """What about the command needs root, or None."""
    program, args, sudo = command.unwrapped()
    if sudo or program is None:
        return None
    values = [w.value for w in args]
    positional = [v for v in values if not v.startswith("-")]
    if program in _ROOT_PROGRAMS:
        if program in ("iptables", "ip6tables", "nft") and not values:
            return None
        return program
    if program.startswith("mkfs"):
        return program
    if program in _APT:
        return f"{program} {positional[0]}" if positional and positional[0] in _APT_VERBS \
            else None
    if program == "dpkg" and any(v in ("-i", "--install", "-r", "--remove", "-P", "--purge",
                                       "--configure") for v in values):
        return "dpkg"
    if program == "systemctl" and "--user" not in values and positional and \
            positional[0] in _SYSTEMCTL_VERBS:
        return f"systemctl {positional[0]}"
    if program == "service" and len(positional) > 1 and positional[1] in (
            "start", "stop", "restart", "reload", "force-reload"):
        return f"service {positional[1]}"
    if program in ("mount", "umount") and positional:
        return program
    if program == "sysctl" and any(v in ("-w", "-p", "--system", "--load") or "=" in v
                                   for v in values):
        return "sysctl"
    if program in ("zfs", "zpool") and positional and positional[0] in (
            "create", "destroy", "set", "snapshot", "rollback", "import", "export", "mount",
            "send", "receive", "recv", "scrub", "replace", "attach", "detach", "add"):
        return f"{program} {positional[0]}"
    if program in ("hostnamectl", "timedatectl") and positional and \
            positional[0].startswith("set-"):
        return f"{program} {positional[0]}"
    if program == "passwd" and positional:
        return "passwd"
    targets = positional[-1:] if program in _WRITE_LAST else \
        positional if program in _WRITE_ANY else []
    target = next((v for v in targets if v.startswith(_SYSTEM_PATHS)), None)
    if target and (program != "sed" or any(v.startswith("-i") for v in values)):
        return f"{program} {target}"
    for op, word in command.redirects:
        if op in (">", ">>", ">|", "&>", "&>>") and word.value.startswith(_SYSTEM_PATHS):
            return f"> {word.value}"
    return None


def has_root_check(script: ShellScript) -> bool:
    """The script looks at who runs it: $EUID, $UID, `id -u`, `whoami`, or re-runs itself
    with sudo."""
    for command in script.commands:
        program, args, sudo = command.unwrapped()
        if program == "id" and any(w.value.startswith("-u") for w in args):
            return True
        if program == "whoami":
            return True
        if sudo and any(any(p.kind == "param" and p.name == "0" for p in w.parts)
                        for w in command.words):
            return True
        for word in command.words + [w for _, w in command.assignments]:
            for part in word.parts:
                if part.kind == "param" and part.name in ("EUID", "UID"):
                    return True
    return False


@rule("SCR007", "root-required-without-check", Severity.LOW,
      title="Script needs root but does not check for it", on=ShellScript,
      checklist=[ROLLBACK_PLAN],
      refs=["GNU Bash Reference Manual: Bash Variables (EUID)"], impact=NO_RESTART)
def root_required_without_check(script: ShellScript, settings):
    """Reports a script that runs commands needing root (iptables, nft, ufw, systemctl
    start/stop/enable…, apt install/upgrade, useradd, mount, sysctl -w, chown, the Proxmox
    tools pct/qm/vzdump, writes under /etc or /usr…) without `sudo` and without checking
    who runs it (`$EUID`, `$UID`, `id -u`, `whoami`, or re-running itself with sudo). One
    finding per script, at the first such command, listing them. Docker commands are not
    counted: membership of the docker group decides those, not root. Files without a
    shebang or executable bit are taken for sourced libraries and not reported.

    Why it matters:
    Run as a normal user the script fails at the first privileged command, after the
    commands before it already ran: half a firewall change, a service stopped and never
    started again. A check at the top fails before anything changed.

    Example:
    ```bash
    #!/bin/bash
    set -euo pipefail
    systemctl stop grafana-server
    iptables -A INPUT -p tcp --dport 3000 -j DROP
    ```

    Fix:
    Check first: `if [ "$(id -u)" -ne 0 ]; then echo "run as root" >&2; exit 1; fi` (or
    `[ "$EUID" -eq 0 ] || exec sudo "$0" "$@"`), or prefix the privileged commands with
    `sudo`.
    """
    if script.library or has_root_check(script):
        return
    needs: list[tuple[int, str]] = []
    for command in script.commands:
        if command.origin in ("ssh", "pct", "lxc-attach", "heredoc"):
            continue                     # runs on another host or in a container
        need = _root_need(command)
        if need:
            needs.append((command.line, need))
    if not needs:
        return
    listed = ", ".join(f"{what} (line {line})" for line, what in needs[:5])
    more = f" and {len(needs) - 5} more" if len(needs) > 5 else ""
    yield Hit(f"needs root for {listed}{more} but never checks that it runs as root",
              script.loc(needs[0][0]), resource="root-check",
              evidence=_short(scrub(", ".join(what for _, what in needs[:5]))),
              fix='add `if [ "$(id -u)" -ne 0 ]; then echo "run as root" >&2; exit 1; fi` '
                  "at the top")


# --- SCR008 ------------------------------------------------------------------------------------

_CONTAINER_ID = re.compile(r"[0-9a-f]{12}|[0-9a-f]{64}")
_CONTAINER_NAME = re.compile(r"/?[a-zA-Z0-9][a-zA-Z0-9_.-]*")


def _closest(name: str, candidates: list[str]) -> str | None:
    found = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return found[0] if found else None


def _container_suggestion(use: ContainerUse, known) -> tuple[str | None, str]:
    """(the container meant, why we think so): Compose v1's name, the service's container,
    else what the lab's structure says (`sources.scripts.meant`), never spelling alone."""
    name = use.name.lstrip("/")
    v1 = re.fullmatch(r"(.+)_(.+)_(\d+)", name)      # docker-compose v1 naming
    if v1:
        modern = f"{v1.group(1)}-{v1.group(2)}-{v1.group(3)}"
        if modern in known.containers:
            return modern, "Compose v2 names containers with hyphens"
    by_service = known.by_service(name)
    if len(by_service) == 1:
        return by_service[0].name, f"`{name}` is the service name; docker wants the " \
            "container name"
    return meant(name, known)


def _replace_last(command: str, old: str, new: str) -> str:
    head, found, tail = command.rpartition(old)
    return f"{head}{new}{tail}" if found else new


@rule("SCR008", "unknown-container-name", Severity.HIGH,
      title="Script addresses a container the Compose projects do not define",
      on=ShellScript, checklist=["4.5.3", ROLLBACK_PLAN],
      refs=["Docker CLI reference: docker exec", "Compose: container names "
            "<project>-<service>-<index>"], impact=NO_RESTART)
def unknown_container_name(script: ShellScript, settings):
    """Reports a container name given to `docker exec|stop|start|restart|logs|inspect|cp|
    kill|rm|top|stats|port|pause|unpause…` (or `docker container …`, or `docker cp NAME:/…`)
    that no Compose project of the tree defines, neither as `container_name` nor as Compose's
    default `<project>-<service>-<n>`, nor created by a scanned script with
    `docker run --name`; and a service name given to `docker compose exec|logs|restart…`
    that the project addressed (`-p`, `-f`, `--project-directory` or the last `cd`) does
    not have; and a container name that two services of the lab define (`docker exec`
    reaches whichever started last). The fix is the container the lab's structure says was
    meant: the same stack's service, or its one container with the role the name states
    (`paperless-postgres` → the stack's database), else a close name of that stack. Names
    in a literal `for` list or a variable assigned once are checked; other variables are
    skipped. One finding per wrong name and script, at its first use.

    Why it matters:
    A remediation step that names the wrong container fails when it is needed (`Error: No
    such container`), or, worse, acts on another container whose name happens to match: a
    password reset, a restart or an `rm` lands on the wrong service. The seed's audit needed
    a separate "container name fix guide" for exactly this.

    Example:
    ```bash
    # monitoring/compose.yaml names its container monitoring-grafana
    docker exec monitoring-grafna grafana-cli admin reset-admin-password "$NEW_PASSWORD"
    docker compose -f monitoring/compose.yaml restart monitoring-grafana
    ```

    Fix:
    Use the name the Compose file defines (`docker exec monitoring-grafana …`); with
    `docker compose`, use the service name (`docker compose … restart grafana`).
    """
    known = script.known
    if not known.projects:
        return
    reported: dict[tuple[str, str], list[int]] = {}
    first: dict[tuple[str, str], ContainerUse] = {}
    for use in script.uses:
        if use.dynamic or not use.name:
            continue
        key = (use.kind, use.name)
        if key in reported:
            reported[key].append(use.line)
            continue
        if use.kind == "container":
            name = use.name.lstrip("/")
            if name in known.twice and name not in script.created:
                reported[key] = [use.line]
                first[key] = use
                continue
            if name in known or name in script.created or _CONTAINER_ID.fullmatch(name) or \
                    not _CONTAINER_NAME.fullmatch(use.name):
                continue
            if use.verb == "inspect" and _closest(name, known.names()) is None and \
                    not known.by_service(name) and meant(name, known)[0] is None:
                continue                 # inspect also takes images, volumes, networks
        else:
            projects = known.projects_for(use)
            pool = projects or known.projects
            if any(use.name in p.services for p in pool):
                continue
        reported[key] = [use.line]
        first[key] = use
    for key, lines in reported.items():
        use = first[key]
        also = sorted(set(lines[1:]) - {lines[0]})
        more = f"; also on line{'s' if len(also) > 1 else ''} " \
            f"{', '.join(map(str, also))}" if also else ""
        if use.kind == "container" and use.name.lstrip("/") in known.twice:
            yield _twice_hit(script, use, more)
        elif use.kind == "container":
            yield _container_hit(script, use, more)
        else:
            yield _service_hit(script, use, more)


def _container_hit(script: ShellScript, use: ContainerUse, more: str) -> Hit:
    known = script.known
    suggestion, why = _container_suggestion(use, known)
    held = f" ({use.via} holds `{use.name}`)" if use.via else ""
    message = f"`{use.command}`{held}: no container `{use.name}` is defined by the Compose " \
              f"projects of the tree"
    if suggestion:
        where = known.containers.get(suggestion)
        message += f"; did you mean `{suggestion}`" + \
            (f" (service `{where.service}`, {where.location})" if where else "") + "?" + \
            (f" {why}" if why else "")
        fix = _replace_last(use.command, use.name, suggestion)
    else:
        sample = ", ".join(known.names()[:6])
        more_names = ", …" if len(known.names()) > 6 else ""
        fix = f"use one of the defined containers ({sample}{more_names})"
    if not known.complete:
        message += " (some Compose projects could not be loaded; see the coverage gaps)"
    return Hit(message + more, script.loc(use.line), resource=f"container:{use.name}",
               evidence=_short(scrub(use.command)), fix=fix)


def _twice_hit(script: ShellScript, use: ContainerUse, more: str) -> Hit:
    name = use.name.lstrip("/")
    owners = script.known.twice[name]
    where = " and ".join(f"service `{c.service}` of `{c.project}` ({c.location})"
                         for c in owners[:3])
    held = f" ({use.via} holds `{name}`)" if use.via else ""
    return Hit(f"`{use.command}`{held}: container `{name}` is defined twice in the lab, by "
               f"{where}: the command reaches whichever started last" + more,
               script.loc(use.line), resource=f"container-twice:{name}",
               evidence=_short(scrub(use.command)),
               fix=f"give each service its own container_name (`{owners[0].project}-"
                   f"{owners[0].service}`, `{owners[1].project}-{owners[1].service}`) and "
                   "use the one meant here")


def _service_hit(script: ShellScript, use: ContainerUse, more: str) -> Hit:
    known = script.known
    projects = known.projects_for(use)
    pool = projects or known.projects
    services = sorted({s for p in pool for s in p.services})
    # A container name given where Compose wants the service name.
    owner = [(p, s) for p in pool for s, names in p.services.items() if use.name in names]
    if owner:
        suggestion = owner[0][1]
        why = f"`{use.name}` is the container name; `docker compose {use.verb}` takes the " \
              f"service name `{suggestion}`"
    else:
        wanted = role_of_words(use.name)
        same_role = [s for s in services if wanted and role_of_words(s) == wanted]
        suggestion = same_role[0] if len(same_role) == 1 else _closest(use.name, services)
        if suggestion and wanted and role_of_words(suggestion) not in (wanted, None):
            suggestion = None            # the nearest string has another role: no guess
        why = f"did you mean `{suggestion}`?" if suggestion else ""
    if len(projects) == 1:
        scope = f"project `{projects[0].compose_name}` has no service"
    elif projects:
        scope = f"none of the {len(projects)} projects named " \
                f"`{projects[0].compose_name}` has a service"
    else:
        scope = "no Compose project of the tree has a service"
    message = f"`{use.command}`: {scope} `{use.name}`" + (f"; {why}" if why else "")
    fix = _replace_last(use.command, use.name, suggestion) if suggestion else \
        f"use one of the services ({', '.join(services[:6])})"
    return Hit(message + more, script.loc(use.line), resource=f"service:{use.name}",
               evidence=_short(scrub(use.command)), fix=fix)
