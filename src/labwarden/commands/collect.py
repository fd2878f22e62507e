"""`labwarden collect`: a snapshot of this host, for `labwarden audit snapshot:…` elsewhere.

For hosts the auditing machine cannot or should not reach (a fleet larger than one machine
should probe, a host behind a jump box, an air-gapped one), and for Ansible: a playbook runs
`labwarden collect` on every host and fetches the snapshots back
(`contrib/ansible/collect.yml`).
"""

from __future__ import annotations

import os
import socket
import sys

from labwarden.commands.common import EXIT_ERROR, EXIT_OK, UsageError, seconds


def register(commands) -> None:
    parser = commands.add_parser(
        "collect", help="save a snapshot of this host (the read-only commands and files of "
        "host mode) for `audit snapshot:`")
    parser.add_argument("--output", "-o", metavar="DIR|FILE.tar.gz",
                        help="a new directory, or a new .tar.gz / .tgz / .tar file "
                        "(default: ./HOSTNAME-snapshot)")
    parser.add_argument("--timeout", type=seconds, default=20.0, metavar="SECONDS",
                        help="per command (default 20)")
    parser.set_defaults(handler=run)


def default_output() -> str:
    name = "".join(c if c.isalnum() or c in "-_." else "-"
                   for c in socket.gethostname().split(".")[0]) or "host"
    return f"{name}-snapshot"


def run(args) -> int:
    from labwarden.sources.live import host_snapshot

    output = args.output or default_output()
    # Refused before any command runs: a snapshot nobody can write is wasted work.
    try:
        _precheck(output, host_snapshot)
    except host_snapshot.SnapshotWriteError as exc:
        raise UsageError(f"collect: {exc}") from None
    snapshot = host_snapshot.take_sync(args.timeout)
    if not snapshot.files:
        sys.stderr.write("labwarden: collect: nothing could be read on this host; nothing "
                         "written\n")
        return EXIT_ERROR
    try:
        host_snapshot.write(snapshot, output)
    except host_snapshot.SnapshotWriteError as exc:
        raise UsageError(f"collect: {exc}") from None
    except OSError as exc:
        raise UsageError(f"collect: cannot write {output}: {exc.strerror or exc}") from None
    lines = [f"wrote {output}: {len(snapshot.files)} files "
             f"(audit it with `labwarden audit snapshot:{output}`)"]
    for name, why in sorted(snapshot.missing.items()):
        lines.append(f"  not collected: {name} ({why})")
    for path, why in snapshot.refused:
        lines.append(f"  not read: {path} ({why})")
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK


def _precheck(output: str, host_snapshot) -> None:
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise host_snapshot.SnapshotWriteError(f"{output}: the folder {folder} does not exist")
    if host_snapshot.is_tarball(output):
        if os.path.lexists(output):
            raise host_snapshot.SnapshotWriteError(f"{output}: exists; name a new file")
    elif os.path.lexists(output) and (os.path.islink(output) or not os.path.isdir(output)
                                      or os.listdir(output)):
        raise host_snapshot.SnapshotWriteError(
            f"{output}: exists and is not an empty directory; name a new directory")
