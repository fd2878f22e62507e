"""A snapshot of this host (`labwarden collect`), in the layout `snapshot:` reads.

The snapshot is made by running the probes that read `local://` (the host probe: `ss`,
`iptables-save`, `ip6tables-save`, `nft`, `sshd -T`, `sshd -t`, the `/proc` and `/etc`
files, sshd's Include files; the Docker probe: `docker ps`, `docker inspect`; the Proxmox
probe: the files under /etc/pve) through a transport that keeps what they ran, read and
listed. So it
holds exactly what host mode would have looked at, and a probe added to host mode later is
in the snapshot without a second list to keep in step (`SnapshotTransport.FILES` names the
file of each command's output).

Nothing secret is read: paths where secrets live (`/etc/shadow`, private keys, home
directories, `/etc/ssl/private`, Proxmox's `priv/`) are refused before they are opened, and
a file that turns out to hold a private key is dropped; `docker inspect` documents keep
their environment's keys, not its values. Commands run from the read-only allow-list only
(`transport.check_command`).

The snapshot is written only to its output: a new directory (or an empty one), or a
tarball created next to its name and linked into place, so that a reader never sees half a
snapshot and an existing file is never replaced.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import posixpath
import re
import tarfile
import time
from dataclasses import dataclass, field

from labwarden.sources.live.transport import (
    NOT_FOUND,
    TIMED_OUT,
    TARBALL_SUFFIXES,
    CommandResult,
    LocalTransport,
    SnapshotTransport,
)

# Where secrets live: never opened, whatever a probe (or an sshd Include) asks for.
_SECRET_PREFIXES = ("/etc/shadow", "/etc/gshadow", "/etc/ssl/private/", "/etc/pve/priv/",
                    "/root/", "/home/", "/var/lib/", "/run/secrets/", "/etc/sudoers")
_SECRET_NAMES = re.compile(r"(^id_[a-z0-9]+$|_key$|\.key$|\.pem$|\.p12$|\.pfx$|\.kdbx$|"
                           r"password|passwd-|secret|token|\.pw$)", re.IGNORECASE)
_PROC_PER_PROCESS = re.compile(r"^/proc/(\d+|self|thread-self)/")
_PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")


def secret_reason(path: str) -> str | None:
    """Why `path` must not be read into a snapshot, or None."""
    normal = posixpath.normpath("/" + path.lstrip("/"))   # ("//x" stays "//x" in POSIX)
    if normal.startswith(_SECRET_PREFIXES) or normal in ("/etc/shadow", "/etc/gshadow"):
        return "where secrets are kept"
    if _PROC_PER_PROCESS.match(normal):
        return "a process's own files (environment, memory)"
    if _SECRET_NAMES.search(posixpath.basename(normal)):
        return "named like a key or password file"
    return None


@dataclass
class Snapshot:
    files: dict[str, bytes] = field(default_factory=dict)        # path in the snapshot
    missing: dict[str, str] = field(default_factory=dict)        # snapshot file -> why not
    refused: list[tuple[str, str]] = field(default_factory=list)  # (host path, why)
    folders: set[str] = field(default_factory=set)   # listed folders, kept even when empty
    # `docker inspect` documents, environment values removed; None: Docker not collected
    containers: list | None = None
    images: list = field(default_factory=list)

    def finish(self) -> None:
        """The Docker files, from every `docker inspect` the probes ran."""
        from labwarden.sources.docker.engine import SNAPSHOT_CONTAINERS, SNAPSHOT_IMAGES

        if self.containers is not None:
            self.files[SNAPSHOT_CONTAINERS] = json.dumps(self.containers, indent=1).encode()
            self.files[SNAPSHOT_IMAGES] = json.dumps(self.images, indent=1).encode()


class RecordingTransport(LocalTransport):
    """This machine, keeping each command's output under its snapshot file name and each
    file read under `files/<path>`."""

    def __init__(self, timeout: float = 20.0, root: str = "/"):
        super().__init__(timeout=timeout, root=root)
        self.snapshot = Snapshot()

    async def run(self, argv: list[str]) -> CommandResult:
        result = await super().run(argv)
        if argv and posixpath.basename(argv[0]) == "docker":
            self._docker(argv, result)
            return result
        name = SnapshotTransport.file_name(argv)
        if name is None:
            return result
        if name == SnapshotTransport.FILES["sshd -t"]:
            # sshd -t's verdict is its exit status: kept with what it said (see transport)
            if result.rc not in (NOT_FOUND, TIMED_OUT):
                said = (result.stdout + result.stderr).rstrip("\n")
                self._keep(name, f"{said + chr(10) if said else ''}exit status {result.rc}\n"
                           .encode())
            else:
                self.snapshot.missing[name] = _why(result)
        elif result.ok:
            self._keep(name, result.stdout.encode("utf-8"))
        else:
            self.snapshot.missing[name] = _why(result)
        return result

    async def read_file(self, path: str) -> bytes | None:
        why = secret_reason(path)
        if why:
            self.snapshot.refused.append((path, why))
            return None
        data = await super().read_file(path)
        if data is None:
            return None
        if _PRIVATE_KEY.search(data):
            self.snapshot.refused.append((path, "holds a private key"))
            return None
        self._keep(posixpath.join("files", posixpath.normpath("/" + path).lstrip("/")), data)
        return data

    async def list_dir(self, path: str) -> list[str] | None:
        why = secret_reason(path)
        if why:
            self.snapshot.refused.append((path, why))
            return None
        names = await super().list_dir(path)
        if names is not None:      # a folder a collector looked in: there, even if empty
            self.snapshot.folders.add(posixpath.join(
                "files", posixpath.normpath("/" + path.lstrip("/")).lstrip("/")))
        return names

    def _docker(self, argv: list[str], result: CommandResult) -> None:
        """`docker ps` says whether Docker is collected; each `docker inspect` adds its
        documents, without the environment's values (passwords live there: labwarden reads
        only the keys, and the snapshot must not carry them)."""
        snapshot = self.snapshot
        if argv[1:2] == ["ps"]:
            if result.ok:
                snapshot.containers = snapshot.containers or []
            elif result.rc != NOT_FOUND:
                snapshot.missing["docker-inspect.json"] = _why(result)
            return
        try:
            documents = json.loads(result.stdout) if result.stdout.strip() else []
        except ValueError:
            documents = None
        if not isinstance(documents, list):
            snapshot.missing["docker-inspect.json"] = "docker inspect did not print JSON"
            return
        documents = [_without_env_values(d) for d in documents if isinstance(d, dict)]
        if argv[1:3] == ["image", "inspect"]:
            snapshot.images.extend(documents)
        elif snapshot.containers is not None:
            snapshot.containers.extend(documents)

    def _keep(self, name: str, data: bytes) -> None:
        self.snapshot.files[name] = data
        self.snapshot.missing.pop(name, None)


def _without_env_values(document: dict) -> dict:
    """A `docker inspect` document with `KEY` for each `KEY=value` of its environments."""
    for part in ("Config", "ContainerConfig"):
        config = document.get(part)
        if isinstance(config, dict) and isinstance(config.get("Env"), list):
            config["Env"] = [str(e).partition("=")[0] for e in config["Env"]]
    return document


def _why(result: CommandResult) -> str:
    lines = (result.stderr or result.stdout).strip().splitlines()
    said = f": {lines[-1][:160]}" if lines else ""
    if result.rc == NOT_FOUND:
        return f"not available{said}"
    if result.rc == TIMED_OUT:
        return "no answer in time"
    return f"exit status {result.rc}{said}"


async def take(timeout: float = 20.0) -> Snapshot:
    """Run every probe that reads `local://` through a recording transport."""
    from importlib import import_module

    from labwarden.sources.live.collect import ProbeOptions
    from labwarden.sources.live.targets import parse_target
    from labwarden.sources.registry import probes_for

    transport = RecordingTransport(timeout=timeout)
    options = ProbeOptions(timeout=timeout)
    options.transport = transport
    target = parse_target("local://")
    for source in probes_for("local", options):
        if source.probe is None:
            continue
        module = import_module(source.probe)
        await module.probe(target, options)
    transport.snapshot.finish()
    return transport.snapshot


def take_sync(timeout: float = 20.0) -> Snapshot:
    return asyncio.run(take(timeout))


# --- writing ------------------------------------------------------------------------------

class SnapshotWriteError(Exception):
    """The output cannot be written (it exists, its folder is missing…)."""


def is_tarball(path: str) -> bool:
    return path.endswith(TARBALL_SUFFIXES)


def write(snapshot: Snapshot, output: str) -> None:
    if is_tarball(output):
        write_tarball(snapshot, output)
    else:
        write_directory(snapshot, output)


def _check_folder(output: str) -> None:
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise SnapshotWriteError(f"{output}: the folder {folder} does not exist")


def write_directory(snapshot: Snapshot, output: str) -> None:
    """The snapshot as files in `output`, a new directory (or an empty one), private to its
    owner (firewall rules and sshd settings describe the host's defences)."""
    _check_folder(output)
    if os.path.islink(output):
        raise SnapshotWriteError(f"{output}: is a symbolic link; name a new directory")
    if os.path.exists(output):
        if not os.path.isdir(output):
            raise SnapshotWriteError(f"{output}: exists and is not a directory")
        if os.listdir(output):
            raise SnapshotWriteError(f"{output}: is not empty; name a new directory (a "
                                     "snapshot mixed with older files would be wrong)")
    else:
        os.mkdir(output, 0o700)
    root = os.path.realpath(output)
    for folder in sorted(snapshot.folders):
        path = os.path.join(root, *posixpath.normpath(folder).split("/"))
        os.makedirs(path, mode=0o700, exist_ok=True)
    for name, data in sorted(snapshot.files.items()):
        relative = posixpath.normpath(name)
        if relative.startswith(("/", "..")):
            continue                         # never happens: names are made above
        path = os.path.join(root, *relative.split("/"))
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        if not os.path.realpath(os.path.dirname(path)).startswith(root):
            raise SnapshotWriteError(f"{output}: a folder inside it leads outside it")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)


def tarball_bytes(snapshot: Snapshot) -> bytes:
    buffer = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for folder in sorted(snapshot.folders):
            info = tarfile.TarInfo(folder)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o700, now
            archive.addfile(info)
        for name, data in sorted(snapshot.files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o600, now
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def write_tarball(snapshot: Snapshot, output: str) -> None:
    """The snapshot as a gzip tarball at `output`, which must not exist yet: written to a
    temporary file beside it, then hard-linked to its name (which fails, rather than
    replaces, if something took the name meanwhile)."""
    import tempfile

    _check_folder(output)
    if os.path.lexists(output):
        raise SnapshotWriteError(f"{output}: exists; name a new file")
    data = tarball_bytes(snapshot)
    folder = os.path.dirname(os.path.abspath(output))
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(output)}.",
                                     suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        try:
            os.link(temporary, output)
        except FileExistsError:
            raise SnapshotWriteError(f"{output}: exists; name a new file") from None
    finally:
        os.unlink(temporary)
