r"""One read-only interface to a host: run a command, read a file.

Host collectors (`host.py`) ask a `Transport` for command output and file contents and do
not know whether the host is this machine, a remote one over SSH, or a directory of
outputs saved earlier. Every transport accepts only the read-only commands of
`ALLOWED_COMMANDS` (a collector bug can never run anything else, locally or remotely):

    ss -tulpn                  listening sockets
    iptables-save              IPv4 rules (optionally -t TABLE, -c)
    ip6tables-save             IPv6 rules (optionally -t TABLE, -c)
    nft [-j] list ruleset      nftables rules (-j: as JSON)
    sshd -T | sshd -t          the SSH daemon's effective configuration / a syntax test
    docker ps -a -q --no-trunc, docker inspect --type container ID…,
    docker image inspect sha256:ID…   the containers a Docker host runs (sources/docker)

Files are read with `read_file` (SFTP over SSH), never with `cat`; a directory's names with
`list_dir` (SFTP's readdir over SSH), never with `ls`.

Snapshot layout (`snapshot:DIR`, or `snapshot:HOST.tar.gz`, a tarball of it read in memory,
never extracted): the outputs of the commands above, saved on the host by `labwarden
collect` or any other means, one file per command; a file that is absent means "not
collected" (an empty file means "the command printed nothing", e.g. no nftables rules)::

    DIR/ss.txt                   ss -tulpn
    DIR/iptables-save.txt        iptables-save
    DIR/ip6tables-save.txt       ip6tables-save
    DIR/nft.txt                  nft list ruleset
    DIR/nft-ruleset.json         nft -j list ruleset (read instead of nft.txt when present)
    DIR/sshd_T.txt               sshd -T
    DIR/sshd_t.txt               sshd -t: what it printed, then `exit status N`
    DIR/files/<absolute path>    copies of files: etc/ssh/sshd_config (and the files its
                                 Include lines name), etc/hostname,
                                 proc/net/{dev,route,fib_trie,if_inet6} (interfaces,
                                 default route, addresses), proc/sys/net/ipv4/ip_forward,
                                 proc/sys/net/ipv6/conf/all/disable_ipv6

A snapshot needs nothing but a POSIX shell on the host (run it as root, then copy the
directory to the auditing machine); a command that fails leaves no file behind::

    D=host-snapshot; mkdir -p "$D"; for c in "ss -tulpn:ss" "iptables-save:iptables-save" \
      "ip6tables-save:ip6tables-save" "nft list ruleset:nft" "sshd -T:sshd_T"; do \
      ${c%%:*} > "$D/${c##*:}.txt" 2>/dev/null || rm -f "$D/${c##*:}.txt"; done; \
      { sshd -t 2>&1; echo "exit status $?"; } > "$D/sshd_t.txt"; \
      nft -j list ruleset > "$D/nft-ruleset.json" 2>/dev/null || rm -f "$D/nft-ruleset.json"; \
      for f in /etc/ssh/sshd_config /etc/hostname /proc/net/dev /proc/net/route \
      /proc/net/fib_trie /proc/net/if_inet6 /proc/sys/net/ipv4/ip_forward \
      /proc/sys/net/ipv6/conf/all/disable_ipv6; do mkdir -p "$D/files${f%/*}"; \
      cat "$f" > "$D/files$f" 2>/dev/null || rm -f "$D/files$f"; done
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import re
import shlex
from dataclasses import dataclass
from typing import Any, ClassVar

from labwarden.sources._read import FileTooLarge, NotRegularFile, read_regular

# argv[0] (its basename) → a predicate over the arguments that follow it.
_SS_FLAGS = re.compile(r"^-[tulpnaeHxw46]+$")
_TABLES = frozenset({"filter", "nat", "mangle", "raw", "security"})
_COMMAND_DIRS = ("", "/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin",
                 "/usr/local/bin")


def _save_args(args: list[str]) -> bool:
    i = 0
    while i < len(args):
        if args[i] == "-c":
            i += 1
        elif args[i] == "-t" and i + 1 < len(args) and args[i + 1] in _TABLES:
            i += 2
        else:
            return False
    return True


_CONTAINER_ID = re.compile(r"^[0-9a-f]{64}$")
_IMAGE_ID = re.compile(r"^sha256:[0-9a-f]{64}$")


def _docker_args(args: list[str]) -> bool:
    """Listing and inspecting only, by full IDs (nothing a shell or docker could read as
    an option or a command)."""
    if args == ["ps", "-a", "-q", "--no-trunc"]:
        return True
    if args[:3] == ["inspect", "--type", "container"] and len(args) > 3:
        return all(_CONTAINER_ID.match(a) for a in args[3:])
    if args[:2] == ["image", "inspect"] and len(args) > 2:
        return all(_IMAGE_ID.match(a) for a in args[2:])
    return False


ALLOWED_COMMANDS = {
    "ss": lambda args: all(_SS_FLAGS.match(a) for a in args),
    "iptables-save": _save_args,
    "ip6tables-save": _save_args,
    "nft": lambda args: args in (["list", "ruleset"], ["-j", "list", "ruleset"]),
    "sshd": lambda args: args in (["-T"], ["-t"]),
    # the installed sshd's package version (SSH008 when the banner hides the build)
    "dpkg-query": lambda args: args == ["-W", "-f=${Version}", "openssh-server"],
    "rpm": lambda args: args == ["-q", "--qf", "%{VERSION}-%{RELEASE}", "openssh-server"],
    "apk": lambda args: args == ["list", "--installed", "openssh-server"],
    "docker": _docker_args,
}


class CommandRefused(PermissionError):
    """A command outside the read-only allow-list: a collector bug, never run."""


def check_command(argv: list[str]) -> None:
    if not argv:
        raise CommandRefused("empty command")
    directory, name = posixpath.split(argv[0])
    allowed = ALLOWED_COMMANDS.get(name)
    if allowed is None or directory not in _COMMAND_DIRS or not allowed(list(argv[1:])):
        raise CommandRefused(f"not a read-only command of the allow-list: {argv[0]!r}")


@dataclass(frozen=True, slots=True)
class CommandResult:
    rc: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.rc == 0


MAX_FILE = 4 << 20


def _read_bounded(path: str, skipped: list[tuple[str, str]],
                  limit: int = MAX_FILE) -> bytes | None:
    """At most MAX_FILE bytes of a regular file (in small reads: sysctl files refuse one huge
    read); None when it is absent or unreadable. One that is there but not read (a FIFO
    would block the reader, a device never ends, or it is too large) is added to `skipped`
    with the reason, for the collector to report."""
    try:
        return read_regular(path, limit)
    except (NotRegularFile, FileTooLarge) as exc:
        skipped.append((path, exc.strerror))
        return None
    except OSError:
        return None


# Commands in flight on one SSH connection (see SshTransport).
MAX_CHANNELS = 6

MAX_NAMES = 10000     # a directory listing is cut there: a collector never needs more


def _list_bounded(path: str) -> list[str] | None:
    """The names in a directory (at most MAX_NAMES), sorted; None when it is absent, not a
    directory, or cannot be listed."""
    try:
        with os.scandir(path) as entries:
            names = []
            for entry in entries:
                names.append(entry.name)
                if len(names) >= MAX_NAMES:
                    break
    except OSError:
        return None
    return sorted(names)


# rc for "the command could not be run at all" (missing binary, not in the snapshot).
NOT_FOUND = 127
TIMED_OUT = 124


class Transport:
    """Run an allow-listed read-only command, read a file. Never raises for a failing
    command (see `CommandResult.rc`); `read_file` returns None when the file is absent or
    unreadable. Local files are read only when they are regular files: one that is there
    but was not read is listed in `skipped` (path, reason) where a transport keeps it."""

    name = "transport"

    async def run(self, argv: list[str]) -> CommandResult:
        raise NotImplementedError

    async def read_file(self, path: str) -> bytes | None:
        raise NotImplementedError

    async def list_dir(self, path: str) -> list[str] | None:
        """The names in a directory, sorted; None when it is absent or cannot be listed.
        (A collector that finds a name it then cannot read knows the file is there.)"""
        return None

    async def close(self) -> None:
        return None

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()


# Where root's tools live when PATH is a user's (sshd, iptables-save are in /usr/sbin).
_EXTRA_PATH = "/usr/local/sbin:/usr/sbin:/sbin"


class LocalTransport(Transport):
    """This machine. `prefix` runs commands inside something, e.g. a network namespace:
    `LocalTransport(prefix=["ip", "netns", "exec", "lab"])` (the allow-list applies to the
    command after the prefix)."""

    name = "local"

    def __init__(self, timeout: float = 10.0, prefix: list[str] | None = None,
                 root: str = "/"):
        self.timeout = timeout
        self.prefix = list(prefix or [])
        self.root = root
        self.skipped: list[tuple[str, str]] = []   # (path, why): there but not read

    async def run(self, argv: list[str]) -> CommandResult:
        check_command(argv)
        env = dict(os.environ, LC_ALL="C")
        env["PATH"] = f"{env.get('PATH', '/usr/bin:/bin')}:{_EXTRA_PATH}"
        try:
            process = await asyncio.create_subprocess_exec(
                *self.prefix, *argv, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
                start_new_session=True)
        except (FileNotFoundError, PermissionError) as exc:
            return CommandResult(NOT_FOUND, "", f"{argv[0]}: {exc.strerror or exc}")
        try:
            out, err = await asyncio.wait_for(process.communicate(), self.timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            return CommandResult(TIMED_OUT, "", f"{argv[0]}: no answer within "
                                 f"{self.timeout:g} s")
        return CommandResult(process.returncode, out.decode("utf-8", "replace"),
                             err.decode("utf-8", "replace"))

    async def read_file(self, path: str) -> bytes | None:
        if self.prefix and path.startswith("/proc/"):
            # /proc/net and /proc/sys/net are per network namespace: read them inside it
            return await self._read_in_prefix(path)
        full = os.path.join(self.root, path.lstrip("/"))

        return await asyncio.wait_for(asyncio.to_thread(_read_bounded, full, self.skipped),
                                      self.timeout)

    async def list_dir(self, path: str) -> list[str] | None:
        full = os.path.join(self.root, path.lstrip("/"))
        return await asyncio.wait_for(asyncio.to_thread(_list_bounded, full), self.timeout)

    async def _read_in_prefix(self, path: str) -> bytes | None:
        try:
            process = await asyncio.create_subprocess_exec(
                *self.prefix, "cat", "--", path, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        except OSError:
            return None
        try:
            out, _ = await asyncio.wait_for(process.communicate(), self.timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            return None
        return out if process.returncode == 0 else None


class SnapshotError(ValueError):
    """A snapshot that cannot be read at all (no such directory, not a tarball)."""


# A tarball is read into memory, never extracted: a snapshot fetched from a host that may
# be compromised must not be able to write anywhere. These bound what it may cost.
MAX_TARBALL = 64 << 20
MAX_TAR_MEMBER = 32 << 20        # `docker inspect` of a few hundred containers
MAX_TAR_MEMBERS = 10_000
TARBALL_SUFFIXES = (".tar.gz", ".tgz", ".tar")


def snapshot_name(path: str) -> str:
    """The host a snapshot stands for, by default: its directory's or tarball's name."""
    name = os.path.basename(os.path.normpath(path)) or path
    for suffix in TARBALL_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[:-len(suffix)]
    return name


class SnapshotTransport(Transport):
    """Outputs saved in a directory, or in a tarball of that directory (`labwarden collect
    --output HOST.tar.gz`; a single top-level folder in it is allowed). Layout in the
    module docstring."""

    name = "snapshot"
    FILES: ClassVar[dict[str, str]] = {"ss": "ss.txt", "iptables-save": "iptables-save.txt",
             "ip6tables-save": "ip6tables-save.txt", "nft": "nft.txt",
             "nft -j": "nft-ruleset.json", "sshd": "sshd_T.txt", "sshd -t": "sshd_t.txt",
             "dpkg-query": "dpkg-openssh-server.txt", "rpm": "rpm-openssh-server.txt",
             "apk": "apk-openssh-server.txt"}

    def __init__(self, directory: str):
        self.directory = directory
        self.skipped: list[tuple[str, str]] = []   # (path, why): there but not read
        self._members: dict[str, bytes] | None = None
        self._dirs: set[str] = set()               # a tarball's folders, empty ones too
        if os.path.isfile(directory):
            self._members, self._dirs = _tar_members(directory, self.skipped)
        elif not os.path.isdir(directory):
            raise SnapshotError(f"no snapshot directory or tarball {directory}")

    @staticmethod
    def file_name(argv: list[str]) -> str | None:
        """The snapshot file that holds the output of `argv` (None: none does)."""
        name = posixpath.basename(argv[0]) if argv else ""
        if name == "nft" and argv[1:2] == ["-j"]:
            name = "nft -j"
        if name == "sshd" and argv[1:] == ["-t"]:
            name = "sshd -t"
        return SnapshotTransport.FILES.get(name)

    def _read(self, relative: str, limit: int = MAX_FILE) -> bytes | None:
        if self._members is not None:
            data = self._members.get(relative)
            if data is not None and len(data) > limit:
                self.skipped.append((f"{self.directory}:{relative}", "too large"))
                return None
            return data
        return _read_bounded(os.path.join(self.directory, relative), self.skipped, limit)

    def has(self, relative: str) -> bool:
        """Whether the snapshot has the file at all (read or not)."""
        if self._members is not None:
            return relative in self._members
        return os.path.lexists(os.path.join(self.directory, relative))

    def saved(self, relative: str, limit: int = MAX_FILE) -> bytes | None:
        """A file of the snapshot by its path in it (`docker-inspect.json`), at most `limit`
        bytes: for collectors that keep their own files (sources/docker), in a directory or
        a tarball alike. None when absent or not read (see `skipped`)."""
        return self._read(posixpath.normpath(relative), limit)

    async def run(self, argv: list[str]) -> CommandResult:
        check_command(argv)
        name = self.file_name(argv)
        if name is None:                 # read from its own files by its collector
            return CommandResult(NOT_FOUND, "", f"{posixpath.basename(argv[0])}: not in "
                                 "the snapshot")
        data = self._read(name)
        if data is None:
            return CommandResult(NOT_FOUND, "", f"{name}: not in the snapshot")
        text = data.decode("utf-8", "replace")
        if name == "sshd_t.txt":
            return _sshd_t_result(text)
        return CommandResult(0, text, "")

    async def read_file(self, path: str) -> bytes | None:
        relative = posixpath.normpath("/" + path).lstrip("/")
        return self._read(posixpath.join("files", relative))

    async def list_dir(self, path: str) -> list[str] | None:
        relative = posixpath.normpath("/" + path.lstrip("/")).lstrip("/")
        if self._members is None:
            return _list_bounded(os.path.join(self.directory, "files", relative))
        prefix = posixpath.join("files", relative) + "/" if relative else "files/"
        names = {name[len(prefix):].split("/", 1)[0] for name in (*self._members, *self._dirs)
                 if name.startswith(prefix) and len(name) > len(prefix)}
        if not names and prefix.rstrip("/") not in self._dirs:
            return None
        return sorted(names)[:MAX_NAMES]

    def list_files(self, pattern: str) -> list[str]:
        """The saved files (as paths on the host) that `pattern` matches: sshd's Include."""
        pattern = posixpath.normpath("/" + pattern.lstrip("/"))
        if self._members is None:
            import glob as globlib

            files = os.path.join(self.directory, "files")
            return ["/" + os.path.relpath(p, files)
                    for p in globlib.glob(os.path.join(files, pattern.lstrip("/")))]
        import fnmatch

        found = ["/" + name[len("files/"):] for name in self._members
                 if name.startswith("files/")]
        return sorted(p for p in found if fnmatch.fnmatchcase(p, pattern)
                      and p.count("/") == pattern.count("/"))


_EXIT_LINE = re.compile(r"^exit status (\d+)$")


def _sshd_t_result(text: str) -> CommandResult:
    """`sshd_t.txt`: what `sshd -t` printed, then `exit status N` on the last line."""
    lines = text.rstrip("\n").splitlines()
    match = _EXIT_LINE.match(lines[-1].strip()) if lines else None
    if match is None:
        return CommandResult(NOT_FOUND, "", "sshd_t.txt: no `exit status N` line")
    return CommandResult(int(match.group(1)), "", "\n".join(lines[:-1]))


def _tar_members(path: str,
                 skipped: list[tuple[str, str]]) -> tuple[dict[str, bytes], set[str]]:
    """The regular files of a snapshot tarball, by their path in the snapshot, each bounded
    like a file of a snapshot directory, and its folders; links, devices and names leaving
    the snapshot are left out and listed in `skipped`."""
    import io
    import tarfile
    import zlib

    try:
        data = read_regular(path, MAX_TARBALL)
    except (NotRegularFile, FileTooLarge) as exc:
        raise SnapshotError(f"snapshot {path}: {exc.strerror}") from None
    except OSError as exc:
        raise SnapshotError(f"snapshot {path}: {exc.strerror or exc}") from None
    members: dict[str, bytes] = {}
    folders: set[str] = set()
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            for count, member in enumerate(archive):
                if count >= MAX_TAR_MEMBERS:
                    skipped.append((path, f"more than {MAX_TAR_MEMBERS} members: the rest "
                                    "not read"))
                    break
                name = member.name
                while name.startswith("./"):
                    name = name[2:]
                name = posixpath.normpath(name or ".")
                if member.isdir():
                    if not name.startswith(("/", "..")) and name != ".":
                        folders.add(name)
                    continue
                where = f"{path}:{member.name[:200]}"
                if not member.isreg():
                    skipped.append((where, "not a regular file"))
                    continue
                if name.startswith(("/", "../")) or name == "..":
                    skipped.append((where, "names a place outside the snapshot"))
                    continue
                if member.size > MAX_TAR_MEMBER or total + member.size > MAX_TARBALL:
                    skipped.append((where, "too large"))
                    continue
                handle = archive.extractfile(member)
                content = handle.read(MAX_TAR_MEMBER + 1) if handle is not None else b""
                total += len(content)
                members[name] = content
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise SnapshotError(f"snapshot {path}: not a readable tarball "
                            f"({type(exc).__name__})") from None
    return _without_top_folder(members, folders)


def _without_top_folder(members: dict[str, bytes],
                        folders: set[str]) -> tuple[dict[str, bytes], set[str]]:
    """`tar czf web1.tar.gz web1/` puts everything under `web1/`: read it as the snapshot."""
    tops = {name.split("/", 1)[0] for name in members}
    if len(tops) != 1 or not all("/" in name for name in members):
        return members, folders
    top = tops.pop()
    if top == "files":
        return members, folders
    cut = len(top) + 1
    return ({name[cut:]: data for name, data in members.items()},
            {name[cut:] for name in folders if name.startswith(top + "/")})


def _asyncssh():
    """asyncssh, imported without cryptography's DSA deprecation warnings: its import
    prints five of them on stderr, once per run, about a key type labwarden never uses."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="DSA is deprecated")
        import asyncssh
    return asyncssh


class HostKeyError(Exception):
    """The host's key could not be verified (unknown host, or a changed key)."""


class SshTransport(Transport):
    """A remote host over SSH: key authentication only, the host key checked against a
    known_hosts file (an unknown host is refused unless `accept_unknown_host`), commands
    restricted to the allow-list, files read over SFTP. `sudo=True` prefixes commands with
    `sudo -n` (never prompts) for users whose rules need root to read."""

    name = "ssh"

    def __init__(self, host: str, port: int = 22, username: str | None = None, *,
                 key_path: str, known_hosts: str | None = None,
                 accept_unknown_host: bool = False, timeout: float = 10.0,
                 sudo: bool = False):
        self.host = host
        self.port = port
        self.username = username
        self.key_path = key_path
        self.known_hosts = known_hosts
        self.accept_unknown_host = accept_unknown_host
        self.timeout = timeout
        self.sudo = sudo
        self._conn: Any = None                     # asyncssh's connection, once open
        self._sftp: Any = None                     # and its one SFTP session
        # Commands run on channels of one connection at once; OpenSSH refuses more than
        # MaxSessions (10 by default) open at a time: the commands, plus one SFTP session
        # that every file read shares, stay under it.
        self._channels = asyncio.Semaphore(MAX_CHANNELS)
        self._sftp_lock = asyncio.Lock()
        self._connect_lock = asyncio.Lock()        # commands sent at once share one connection

    async def _connected(self) -> None:
        async with self._connect_lock:
            if self._conn is None:
                await self.connect()

    def _known_hosts_path(self) -> str:
        return self.known_hosts or os.path.expanduser("~/.ssh/known_hosts")

    async def connect(self) -> None:
        asyncssh = _asyncssh()

        path = self._known_hosts_path()
        if os.path.exists(path):
            known = path
        elif self.accept_unknown_host:
            known = None
        else:
            raise HostKeyError(f"no known_hosts file at {path}: cannot verify the host key "
                               "(add the host with ssh-keyscan, or accept unknown hosts)")
        if known is not None and self.accept_unknown_host:
            # Check the key when the host is listed (a changed key is still refused), and
            # accept it when the host is not listed at all.
            known = _lenient_known_hosts(path, self.host, self.port)
        try:
            self._conn = await asyncio.wait_for(asyncssh.connect(
                self.host, self.port, username=self.username, known_hosts=known,
                client_keys=[self.key_path], passphrase=None, agent_path=None, config=None,
                password=None, password_auth=False, kbdint_auth=False, gss_auth=False,
                host_based_auth=False, preferred_auth="publickey",
                connect_timeout=self.timeout, login_timeout=self.timeout), self.timeout * 2)
        except asyncssh.HostKeyNotVerifiable as exc:
            raise HostKeyError(f"host key not verifiable: {exc.reason}") from None

    async def run(self, argv: list[str]) -> CommandResult:
        check_command(argv)
        await self._connected()
        command = shlex.join((["sudo", "-n"] if self.sudo else []) + argv)
        command = f"PATH=\"$PATH:{_EXTRA_PATH}\" LC_ALL=C {command}"
        asyncssh = _asyncssh()
        try:
            async with self._channels:
                result = await asyncio.wait_for(
                    self._conn.run(command, check=False, stdin=None), self.timeout)
        except TimeoutError:
            return CommandResult(TIMED_OUT, "", f"{argv[0]}: no answer within "
                                 f"{self.timeout:g} s")
        except asyncssh.ChannelOpenError as exc:
            # A host with a lower MaxSessions: the command was not run, and says so.
            return CommandResult(NOT_FOUND, "", f"{argv[0]}: the host refused a session "
                                 f"({exc.reason or 'MaxSessions'})")
        rc = result.exit_status if result.exit_status is not None else 255
        return CommandResult(rc, _text(result.stdout), _text(result.stderr))

    async def read_file(self, path: str) -> bytes | None:
        import asyncssh

        await self._connected()
        try:
            async with self._sftp_lock:      # one SFTP session for every read, not one each
                if self._sftp is None:
                    self._sftp = await asyncio.wait_for(self._conn.start_sftp_client(),
                                                        self.timeout)

            async def read() -> bytes:
                chunks, size = [], 0
                async with self._sftp.open(path, "rb") as handle:
                    while size < MAX_FILE:
                        chunk = await handle.read(65536)
                        if not chunk:
                            break
                        chunks.append(chunk)
                        size += len(chunk)
                return b"".join(chunks)

            return await asyncio.wait_for(read(), self.timeout)
        except (TimeoutError, asyncssh.SFTPError, asyncssh.Error, OSError):
            return None

    async def list_dir(self, path: str) -> list[str] | None:
        import asyncssh

        await self._connected()
        try:
            async with self._sftp_lock:      # one SFTP session for every read and listing
                if self._sftp is None:
                    self._sftp = await asyncio.wait_for(self._conn.start_sftp_client(),
                                                        self.timeout)
            names = await asyncio.wait_for(self._sftp.listdir(path), self.timeout)
        except (TimeoutError, asyncssh.SFTPError, asyncssh.Error, OSError):
            return None
        return sorted(_text(n) for n in names if _text(n) not in (".", ".."))[:MAX_NAMES]

    async def close(self) -> None:
        if self._sftp is not None:
            self._sftp.exit()
            self._sftp = None
        if self._conn is not None:
            self._conn.close()
            try:
                await asyncio.wait_for(self._conn.wait_closed(), self.timeout)
            except TimeoutError:
                pass
            self._conn = None


def _text(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _lenient_known_hosts(path: str, host: str, port: int):
    """known_hosts for `accept_unknown_host`: the file's keys when it lists the host (so a
    changed key is refused), otherwise no checking at all."""
    import asyncssh

    try:
        known = asyncssh.read_known_hosts(path)
        trusted = known.match(host, "", port)
    except (OSError, ValueError, asyncssh.Error):
        return None
    host_keys, ca_keys = trusted[0], trusted[1]
    return known if (host_keys or ca_keys) else None
