"""The real `restic` and `borg` commands, read-only where the tool allows it, each run bounded
in time and output.

The repository and its password reach the tool through its environment only
(RESTIC_REPOSITORY + RESTIC_PASSWORD_FILE or RESTIC_PASSWORD; BORG_REPO + BORG_PASSCOMMAND or
BORG_PASSPHRASE): nothing secret is on a command line (`ps` shows those to every user) or in
an error message. Variables of the same names in the auditor's shell are dropped first, so
a repository is opened with what labwarden.yaml says or not at all. stdin is /dev/null: a
tool that would prompt fails instead of waiting.

Reading: `restic snapshots --json --no-lock --no-cache` writes nothing, neither a lock in the
repository nor a cache in the home directory; `borg list --json` (its JSON also gives the
encryption mode) takes Borg's usual shared lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import signal
from collections.abc import Sequence

from labwarden.sources.backup.config import Credential, Repository
from labwarden.sources.backup.fact import RESTIC_ENCRYPTION, Snapshot, parse_time

MAX_OUTPUT = 64 * 1024 * 1024        # a listing of many thousand snapshots is a few MiB
MAX_ERRORS = 1024 * 1024
PACKAGES = {"restic": "restic", "borg": "borgbackup"}
# What labwarden sets itself; the auditor's own values of these never reach the tool.
_OWN = ("RESTIC_REPOSITORY", "RESTIC_REPOSITORY_FILE", "RESTIC_PASSWORD",
        "RESTIC_PASSWORD_FILE", "RESTIC_PASSWORD_COMMAND", "RESTIC_KEY_HINT", "BORG_REPO",
        "BORG_PASSPHRASE", "BORG_PASSCOMMAND", "BORG_PASSPHRASE_FD", "BORG_NEW_PASSPHRASE")


class ToolError(Exception):
    """The tool could not do it. The message is safe to show: it never holds a password."""


def environment(repository: Repository, credential: Credential | None) -> dict[str, str]:
    """The tool's environment: this process's, without the variables above, plus the
    repository and where its password is."""
    env = {k: v for k, v in os.environ.items() if k not in _OWN}
    password = _password_source(repository, credential)
    if repository.tool == "restic":
        env["RESTIC_REPOSITORY"] = repository.location
        if password is None:
            raise ToolError("no password configured for it: restic repositories are always "
                            "encrypted (set backup.password_file or password_env in "
                            "labwarden.yaml)")
        env["RESTIC_PASSWORD_FILE" if credential and credential.password_file
            else "RESTIC_PASSWORD"] = password
        return env
    env["BORG_REPO"] = repository.location
    if credential is not None and credential.password_file:
        env["BORG_PASSCOMMAND"] = "cat -- " + shlex.quote(credential.password_file)
    else:
        # No password configured: an unencrypted repository opens, an encrypted one fails
        # at once instead of prompting on the terminal.
        env["BORG_PASSPHRASE"] = password or ""
    env["BORG_DISPLAY_PASSPHRASE"] = "no"
    # Reading never changes the repository: an unencrypted one is reported, not refused,
    # and one moved since this user last opened it is read where labwarden.yaml says.
    env["BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK"] = "yes"
    env["BORG_RELOCATED_REPO_ACCESS_IS_OK"] = "yes"
    return env


def _password_source(repository: Repository, credential: Credential | None) -> str | None:
    """The password file's path, or the environment variable's value (kept out of every
    message); None when nothing is configured."""
    if credential is None:
        return None
    if credential.password_file:
        path = credential.password_file
        if not os.path.exists(path):
            raise ToolError(f"its password file {path} does not exist")
        if not os.path.isfile(path):
            raise ToolError(f"its password file {path} is not a regular file")
        if not os.access(path, os.R_OK):
            raise ToolError(f"its password file {path} cannot be read by this user")
        return path
    assert credential.password_env is not None
    value = os.environ.get(credential.password_env)
    if not value:
        raise ToolError(f"the environment variable {credential.password_env} that should "
                        "hold its password is not set")
    return value


# --- running ------------------------------------------------------------------------------

class _TooMuch(Exception):
    pass


async def run(argv: Sequence[str], env: dict[str, str], timeout: float,
              cwd: str | None = None) -> tuple[int, bytes, bytes]:
    """(exit status, stdout, stderr) of the command, killed with its children after
    `timeout` seconds or past MAX_OUTPUT bytes."""
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env, cwd=cwd, start_new_session=True)
    except FileNotFoundError:
        tool = os.path.basename(argv[0])
        raise ToolError(f"{tool} is not installed (Debian package "
                        f"{PACKAGES.get(tool, tool)})") from None
    try:
        out, err = await asyncio.wait_for(asyncio.gather(
            _drain(process.stdout, MAX_OUTPUT), _drain(process.stderr, MAX_ERRORS)), timeout)
        status = await process.wait()
    except asyncio.TimeoutError:
        _kill(process)
        await process.wait()
        raise ToolError(f"{os.path.basename(argv[0])} gave no answer within {timeout:g} s "
                        "(a lock held by a running backup, or a slow remote)") from None
    except _TooMuch:
        _kill(process)
        await process.wait()
        raise ToolError(f"{os.path.basename(argv[0])} wrote more than "
                        f"{MAX_OUTPUT // 1048576} MiB; not read") from None
    except BaseException:           # cancelled (the probe's deadline): leave nothing behind
        _kill(process)
        raise
    return status, out, err


async def _drain(stream, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = await stream.read(65536)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            raise _TooMuch()
        chunks.append(chunk)


def _kill(process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def complaint(stderr: bytes, secret: str | None = None) -> str:
    """What the tool said went wrong, in one line: restic's `Fatal:` line, else the last
    line of its errors (Borg's). A password from the environment is cut out, should a
    tool ever echo it."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()
             if line.strip()]
    fatal = [line for line in lines if line.startswith("Fatal:")]
    text = (fatal[0][len("Fatal:"):].strip() if fatal else lines[-1] if lines
            else "failed without saying why")
    if secret:
        text = text.replace(secret, "***")
    return text[:300]


async def _tool(repository: Repository, credential: Credential | None, args: list[str],
                timeout: float, cwd: str | None = None) -> bytes:
    env = environment(repository, credential)
    secret = env.get("RESTIC_PASSWORD") or env.get("BORG_PASSPHRASE")
    status, out, err = await run([repository.tool, *args], env, timeout, cwd)
    if status != 0:
        raise ToolError(complaint(err, secret))
    return out


# --- what labwarden asks of them ------------------------------------------------------------

async def read_repository(repository: Repository, credential: Credential | None,
                          timeout: float) -> tuple[list[Snapshot], str]:
    """The repository's snapshots (oldest first) and its encryption."""
    if repository.tool == "restic":
        out = await _tool(repository, credential,
                          ["snapshots", "--json", "--no-lock", "--no-cache"], timeout)
        return _restic_snapshots(out), RESTIC_ENCRYPTION
    try:
        out = await _tool(repository, credential,
                          ["list", "--json", "--format", "{hostname}"], timeout)
    except ToolError as exc:
        if credential is None and "passphrase" in str(exc).lower():
            raise ToolError(f"{exc} (no password is configured for it: set "
                            "backup.password_file or password_env in labwarden.yaml)") from None
        raise
    return _borg_archives(out)


def _restic_snapshots(out: bytes) -> list[Snapshot]:
    try:
        rows = json.loads(out or b"[]") or []
        snapshots = [Snapshot(str(row["id"]), parse_time(row["time"]),
                              tuple(row.get("paths") or ()), tuple(row.get("tags") or ()),
                              str(row.get("hostname") or "")) for row in rows]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ToolError("restic's snapshot listing is not the JSON it documents") from None
    return sorted(snapshots, key=lambda s: s.time)


def _borg_archives(out: bytes) -> tuple[list[Snapshot], str]:
    try:
        data = json.loads(out)
        mode = str(data["encryption"]["mode"])
        # An archive is restored by its name: the name is its id here.
        snapshots = [Snapshot(str(row["name"]), parse_time(row.get("start") or row["time"]),
                              host=str(row.get("hostname") or ""))
                     for row in data.get("archives") or []]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ToolError("borg's archive listing is not the JSON it documents") from None
    return sorted(snapshots, key=lambda s: s.time), mode


async def restore_size(repository: Repository, credential: Credential | None,
                       snapshot: str, timeout: float) -> int | None:
    """How many bytes restoring `snapshot` writes (None when the tool does not say)."""
    try:
        if repository.tool == "restic":
            out = await _tool(repository, credential, ["stats", snapshot, "--mode",
                              "restore-size", "--json", "--no-lock", "--no-cache"], timeout)
            return int(json.loads(out)["total_size"])
        out = await _tool(repository, credential, ["info", "--json", f"::{snapshot}"], timeout)
        return int(json.loads(out)["archives"][0]["stats"]["original_size"])
    except (ValueError, KeyError, TypeError, IndexError):
        return None


async def restore(repository: Repository, credential: Credential | None, snapshot: str,
                  target: str, timeout: float) -> None:
    """Restore `snapshot` into the directory `target` (which the caller made, empty)."""
    if repository.tool == "restic":
        await _tool(repository, credential, ["restore", snapshot, "--target", target,
                                             "--no-lock", "--no-cache"], timeout)
    else:
        # Borg extracts into the current directory: the scratch directory, never another.
        await _tool(repository, credential, ["extract", f"::{snapshot}"], timeout, cwd=target)
