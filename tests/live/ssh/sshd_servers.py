"""Start real OpenSSH daemons on loopback high ports, each with its own config and host
keys, for the SSH tests and the benchmark. Needs root (sshd's privilege separation) and the
Debian package openssh-server (sshd) with openssh-client (ssh-keygen)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SSHD_CANDIDATES = ("/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd")

# Legacy algorithms that Debian 12's OpenSSH 9.2 still has compiled in, enabled on top of
# the defaults: every one of them is a planted weakness.
WEAK_KEX = ("diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1",
            "diffie-hellman-group-exchange-sha1")
WEAK_CIPHERS = ("3des-cbc", "aes128-cbc")
WEAK_MACS = ("hmac-md5", "hmac-sha1", "umac-64@openssh.com")
WEAK_HOSTKEY_ALGS = ("ssh-rsa", "ssh-dss")

# ssh-audit's hardening guide for Debian 12 (OpenSSH 9.2), ed25519 host key only.
HARDENED_KEX = ("sntrup761x25519-sha512@openssh.com", "curve25519-sha256",
                "curve25519-sha256@libssh.org", "diffie-hellman-group16-sha512",
                "diffie-hellman-group18-sha512")
HARDENED_CIPHERS = ("aes256-gcm@openssh.com", "aes128-gcm@openssh.com", "aes256-ctr",
                    "aes192-ctr", "aes128-ctr")
HARDENED_MACS = ("hmac-sha2-512-etm@openssh.com", "hmac-sha2-256-etm@openssh.com",
                 "umac-128-etm@openssh.com")
HARDENED_HOSTKEY_ALGS = ("ssh-ed25519",)


class MissingTool(RuntimeError):
    pass


def sshd_binary() -> str:
    for path in SSHD_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    found = shutil.which("sshd")
    if found:
        return os.path.abspath(found)
    raise MissingTool("sshd not found: install the Debian package openssh-server "
                      "(apt-get install -y openssh-server)")


def _client_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise MissingTool(f"{name} not found: install the Debian package openssh-client")
    return found


def keygen_binary() -> str:
    return _client_tool("ssh-keygen")


def ssh_binary() -> str:
    return _client_tool("ssh")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_host_key(directory: Path, kind: str, bits: int | None = None) -> Path:
    path = directory / f"ssh_host_{kind}{bits or ''}_key"
    if not path.exists():
        argv = [keygen_binary(), "-q", "-t", kind, "-N", "", "-C", "", "-f", str(path)]
        if bits:
            argv[2:2] = ["-b", str(bits)]
        subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)
    os.chmod(path, 0o600)
    return path


def weak_config(port: int, keys: list[Path], workdir: Path, empty_passwords: bool = True) -> str:
    lines = [
        "# A deliberately weak sshd: every line below is a planted weakness.",
        f"ListenAddress 127.0.0.1:{port}",
        *[f"HostKey {key}" for key in keys],
        f"PidFile {workdir}/weak.pid",
        f"KexAlgorithms +{','.join(WEAK_KEX)}",
        f"Ciphers +{','.join(WEAK_CIPHERS)}",
        f"MACs +{','.join(WEAK_MACS)}",
        f"HostKeyAlgorithms +{','.join(WEAK_HOSTKEY_ALGS)}",
        "PermitRootLogin yes",
        "PasswordAuthentication yes",
        "KbdInteractiveAuthentication yes",
        "UsePAM yes",
        "PermitEmptyPasswords yes" if empty_passwords else "PermitEmptyPasswords no",
        "X11Forwarding yes",
        "MaxAuthTries 10",
        "MaxStartups 200",
    ]
    return "\n".join(lines) + "\n"


def hardened_config(port: int, keys: list[Path], workdir: Path) -> str:
    lines = [
        "# A hardened sshd (ssh-audit's Debian 12 guide, Mozilla's recommendations).",
        f"ListenAddress 127.0.0.1:{port}",
        *[f"HostKey {key}" for key in keys],
        f"PidFile {workdir}/hardened.pid",
        f"KexAlgorithms {','.join(HARDENED_KEX)}",
        f"Ciphers {','.join(HARDENED_CIPHERS)}",
        f"MACs {','.join(HARDENED_MACS)}",
        f"HostKeyAlgorithms {','.join(HARDENED_HOSTKEY_ALGS)}",
        "PermitRootLogin no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM yes",
        "PermitEmptyPasswords no",
        "X11Forwarding no",
        "MaxAuthTries 3",
        "AllowUsers admin",
        "MaxStartups 200",
    ]
    return "\n".join(lines) + "\n"


def legacy_config(port: int, keys: list[Path], workdir: Path) -> str:
    """Only what a 2010 server spoke: the probe must still read it (keys, methods)."""
    lines = [
        "# A legacy-only sshd: nothing modern is offered at all.",
        f"ListenAddress 127.0.0.1:{port}",
        *[f"HostKey {key}" for key in keys],
        f"PidFile {workdir}/legacy.pid",
        "KexAlgorithms diffie-hellman-group1-sha1",
        "Ciphers 3des-cbc",
        "MACs hmac-md5",
        "HostKeyAlgorithms ssh-rsa,ssh-dss",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
    ]
    return "\n".join(lines) + "\n"


def every_algorithm_config(port: int, keys: list[Path], workdir: Path) -> str:
    """Every algorithm this sshd has compiled in (`ssh -Q`), so that the probe's own key
    exchange and packet protection can be tried one algorithm at a time; passwords on, PAM
    off (no failure delay before the answer to `none`)."""
    def compiled(kind: str) -> str:
        out = subprocess.run([ssh_binary(), "-Q", kind], capture_output=True, text=True,
                             check=True).stdout
        return ",".join(out.split())

    lines = [
        "# Every algorithm compiled in: for the probe's own transport, one at a time.",
        f"ListenAddress 127.0.0.1:{port}",
        *[f"HostKey {key}" for key in keys],
        f"PidFile {workdir}/every.pid",
        f"KexAlgorithms {compiled('kex')}",
        f"Ciphers {compiled('cipher')}",
        f"MACs {compiled('mac')}",
        "PasswordAuthentication yes",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "MaxStartups 200",
    ]
    return "\n".join(lines) + "\n"


@dataclass
class SshdServer:
    name: str
    port: int
    config: Path
    process: subprocess.Popen
    log: Path
    keys: list[Path] = field(default_factory=list)

    @property
    def target(self) -> str:
        return f"ssh://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _wait_listening(server: SshdServer, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"sshd {server.name} exited with {server.process.returncode}: "
                               f"{server.log.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    server.stop()
    raise RuntimeError(f"sshd {server.name} did not listen on 127.0.0.1:{server.port}")


def ensure_privsep_dir() -> None:
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    os.chmod("/run/sshd", 0o755)


def write_config(workdir: Path, name: str, kind: str, port: int | None = None,
                 empty_passwords: bool = True, overrides: dict[str, str] | None = None
                 ) -> tuple[Path, int, list[Path]]:
    """Write the config of a server of `kind`; `overrides` replaces whole directives
    (or adds them). Returns (path, port, keys)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    keydir = workdir / "keys"
    keydir.mkdir(exist_ok=True)
    if kind == "weak":
        keys = [make_host_key(keydir, "rsa", 2048), make_host_key(keydir, "dsa"),
                make_host_key(keydir, "ecdsa", 256), make_host_key(keydir, "ed25519")]
        text = weak_config(port, keys, workdir, empty_passwords)
    elif kind == "legacy":
        keys = [make_host_key(keydir, "rsa", 1024), make_host_key(keydir, "dsa")]
        text = legacy_config(port, keys, workdir)
    elif kind == "hardened":
        keys = [make_host_key(keydir, "ed25519")]
        text = hardened_config(port, keys, workdir)
    elif kind == "every":
        keys = [make_host_key(keydir, "ed25519")]
        text = every_algorithm_config(port, keys, workdir)
    else:
        raise ValueError(kind)
    text = text.replace(f"{workdir}/{kind}.pid", f"{workdir}/{name}.pid")
    for directive, value in (overrides or {}).items():
        lines = [line for line in text.splitlines() if line.split(" ", 1)[0] != directive]
        text = "\n".join([*lines, f"{directive} {value}"]) + "\n"
    config = workdir / f"{name}.conf"
    config.write_text(text)
    return config, port, keys


def start_sshd(workdir: Path, name: str, kind: str, attempts: int = 3,
               empty_passwords: bool = True, overrides: dict[str, str] | None = None
               ) -> SshdServer:
    """Start sshd in the foreground (-D) with a config of `kind`; the caller stops it.

    `empty_passwords=False` leaves `PermitEmptyPasswords yes` out of the weak config: with it
    and PAM, sshd answers a client's first (`none`) authentication request only after a
    failed empty-password PAM check, i.e. after pam_unix's ~2 s failure delay."""
    sshd = sshd_binary()
    if os.geteuid() != 0:
        raise RuntimeError("the SSH tests start sshd, which needs root")
    ensure_privsep_dir()
    last_error = None
    for _ in range(attempts):
        config, port, keys = write_config(workdir, name, kind, empty_passwords=empty_passwords,
                                          overrides=overrides)
        check = subprocess.run([sshd, "-t", "-f", str(config)], capture_output=True, text=True,
                               check=False)
        if check.returncode != 0:
            raise RuntimeError(f"sshd -t refused {config}: {check.stderr.strip()}")
        log = workdir / f"{name}.log"
        with open(log, "wb") as handle:
            process = subprocess.Popen([sshd, "-D", "-e", "-f", str(config)],
                                       stdin=subprocess.DEVNULL, stdout=handle,
                                       stderr=subprocess.STDOUT)
        server = SshdServer(name, port, config, process, log, keys)
        try:
            _wait_listening(server)
            return server
        except RuntimeError as exc:     # e.g. the free port was taken meanwhile
            server.stop()
            last_error = exc
    raise last_error


# --- dropbear: the other SSH server of a homelab (OpenWrt, small NAS) ------------------------

def start_dropbear(workdir: Path) -> SshdServer:
    """dropbear in the foreground on a loopback high port, with an Ed25519, an ECDSA and a
    2048-bit RSA host key (Debian package dropbear-bin); the caller stops it."""
    binary = shutil.which("dropbear") or next(
        (p for p in ("/usr/sbin/dropbear", "/sbin/dropbear") if os.access(p, os.X_OK)), None)
    keygen = shutil.which("dropbearkey") or "/usr/bin/dropbearkey"
    if binary is None or not os.access(keygen, os.X_OK):
        raise MissingTool("dropbear not found: install the Debian package dropbear-bin "
                          "(apt-get install -y dropbear-bin)")
    workdir.mkdir(parents=True, exist_ok=True)
    keys = []
    for kind, bits in (("ed25519", None), ("ecdsa", "256"), ("rsa", "2048")):
        path = workdir / f"dropbear_{kind}_host_key"
        if not path.exists():
            argv = [keygen, "-t", kind, "-f", str(path)] + (["-s", bits] if bits else [])
            subprocess.run(argv, check=True, capture_output=True)
        keys.append(path)
    last_error = None
    for _ in range(3):
        port = free_port()
        log = workdir / "dropbear.log"
        argv = [binary, "-F", "-E", "-p", f"127.0.0.1:{port}", "-P", str(workdir / "dropbear.pid")]
        for key in keys:
            argv += ["-r", str(key)]
        with open(log, "wb") as handle:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=handle,
                                       stderr=subprocess.STDOUT)
        server = SshdServer("dropbear", port, workdir / "dropbear.pid", process, log, keys)
        try:
            _wait_listening(server)
            return server
        except RuntimeError as exc:
            server.stop()
            last_error = exc
    raise last_error
