"""Every write the console makes, with who made it: one JSON line per write appended to
`console-audit.log` beside the history database (the lab's state folder).

Appended under the file's lock (`fsio.locked`, the one the CLI's writers use), with
O_APPEND, so two console workers never interleave half lines. The entry names the action,
the service or scope and the item IDs; notes are not copied (they are in the attestation
file already, and the log should not become a second place a secret could sit).
"""

from __future__ import annotations

import datetime as dt
import json
import os

LOG_NAME = "console-audit.log"


def log_path(state_dir: str) -> str:
    return os.path.join(state_dir, LOG_NAME)


def record(state_dir: str, who: str, action: str, **details) -> None:
    from labwarden import fsio

    os.makedirs(state_dir, exist_ok=True)
    path = fsio.child(state_dir, LOG_NAME)
    entry = {"at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
             "who": who, "action": action, **details}
    line = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
    with fsio.locked(path):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)


def entries(state_dir: str, limit: int = 200) -> list[dict]:
    """The last `limit` entries, newest last (for the page that shows them)."""
    from labwarden.console.auth import AuthError, read_small

    try:
        text = read_small(log_path(state_dir), 16 << 20)    # the one reader, bounded
    except AuthError:                   # too large or unreadable: the page says nothing
        return []
    if text is None:
        return []
    lines = text.splitlines()[-limit:]
    found = []
    for line in lines:
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found
