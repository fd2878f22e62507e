"""Real TLS servers on loopback for the TLS probe's end-to-end tests and its benchmark.

- nginx (OpenSSL 3) serves a WEAK site (TLS 1.0/1.1/1.2, static-RSA and CBC-SHA1 suites,
  1024-bit DHE, a 1024-bit SHA-1-signed certificate that expires in 10 days and names
  another host) and a STRONG site (TLS 1.2/1.3, Mozilla intermediate suites, ffdhe2048,
  a certificate from a test CA made here, valid for strong.test).
- gnutls-serv serves what Debian's OpenSSL 3 no longer can: RC4, 3DES, NULL, anonymous
  and MD5 suites, with an expired self-signed certificate. gnutls-serv cannot be told to
  listen on loopback only, so it runs in a network namespace of its own (`unshare -n`)
  and a relay on 127.0.0.1 forwards connections into it.
- A scripted server plays the first flight of an SSL 3.0 / TLS 1.0 server offering EXPORT
  suites and a 512-bit DH group: no real server on Debian 12 can still be configured so.

Nothing here listens anywhere but 127.0.0.1 (or inside the private namespace).
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import datetime as dt
import os
import shutil
import socket
import socketserver
import struct
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOOPBACK = "127.0.0.1"
MOZILLA_INTERMEDIATE = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305")
# Static RSA key exchange and CBC with SHA-1 next to ECDHE, DHE with the 1024-bit group.
WEAK_CIPHERS = ("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA:DHE-RSA-AES128-SHA:"
                "DHE-RSA-AES256-GCM-SHA384:AES128-SHA:AES256-SHA:@SECLEVEL=0")
GNUTLS_PRIORITY = ("NORMAL:-VERS-TLS1.3:+ARCFOUR-128:+3DES-CBC:+NULL:+MD5:+RSA:+ANON-DH:"
                   "+ANON-ECDH:%SERVER_PRECEDENCE")


class ServerMissing(RuntimeError):
    pass


def need(binary: str, package: str) -> str:
    path = shutil.which(binary) or next(
        (p for p in (f"/usr/sbin/{binary}", f"/usr/bin/{binary}") if os.path.exists(p)), None)
    if not path:
        raise ServerMissing(f"{binary} not found: install the Debian package {package} "
                            f"(apt-get install -y {package})")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def _die_with_parent() -> list[str]:
    """A command prefix that gets the server SIGTERM when the test process dies
    (PR_SET_PDEATHSIG through util-linux's setpriv), so that a killed run leaves no
    server behind."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []


def wait_listening(port: int, proc: subprocess.Popen | None = None, timeout: float = 10.0,
                   log: Path | None = None) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            text = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise RuntimeError(f"server exited with {proc.returncode}: {text}")
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), 0.2):
            return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {LOOPBACK}:{port} after {timeout:g} s")


# --- Diffie-Hellman groups, computed from their published formulas -----------------------

def _fixed_point(series, bits: int) -> int:
    return series(bits + 64) >> 64


def _pi(bits: int) -> int:
    one = 1 << bits

    def arctan_inv(x: int) -> int:
        total = term = one // x
        n, sign = 1, -1
        while term:
            term //= x * x
            n += 2
            total += sign * (term // n)
            sign = -sign
        return total

    return 16 * arctan_inv(5) - 4 * arctan_inv(239)


def _e(bits: int) -> int:
    total, term, k = 0, 1 << bits, 0
    while term:
        total += term
        k += 1
        term //= k
    return total


def oakley_group2() -> int:
    """The 1024-bit MODP group of RFC 2409, 6.2."""
    return 2**1024 - 2**960 - 1 + 2**64 * (_fixed_point(_pi, 894) + 129093)


def ffdhe2048() -> int:
    """The 2048-bit group of RFC 7919, A.1."""
    return 2**2048 - 2**1984 + (_fixed_point(_e, 1918) + 560316) * 2**64 - 1


def _der_integer(value: int) -> bytes:
    raw = value.to_bytes(value.bit_length() // 8 + 1, "big")      # a leading 0 keeps it positive
    return b"\x02" + _der_length(len(raw)) + raw


def dh_pem(prime: int, generator: int = 2) -> bytes:
    """PKCS #3 DHParameter (SEQUENCE {prime, base}) as PEM, the file nginx and gnutls read."""
    body = _der_integer(prime) + _der_integer(generator)
    der = b"\x30" + _der_length(len(body)) + body
    text = base64.encodebytes(der).decode().replace("\n", "")
    lines = [text[i:i + 64] for i in range(0, len(text), 64)]
    return ("-----BEGIN DH PARAMETERS-----\n" + "\n".join(lines)
            + "\n-----END DH PARAMETERS-----\n").encode()


# --- certificates -------------------------------------------------------------------------

@dataclass
class Pki:
    directory: Path
    files: dict[str, Path] = field(default_factory=dict)
    ders: dict[str, bytes] = field(default_factory=dict)
    ca_key: object = None
    ca_name: x509.Name | None = None

    def issue(self, name: str, sans: list[str], days: int = 90, key=None) -> bytes:
        """One more leaf from the test CA (DER), for tests that need an odd certificate."""
        now = dt.datetime.now(dt.UTC)
        _leaf(self, name, key or rsa.generate_private_key(65537, 2048), sans, self.ca_name,
              self.ca_key, now - dt.timedelta(days=1), now + dt.timedelta(days=days),
              hashes.SHA256())
        return self.ders[name]

    def path(self, name: str) -> str:
        return str(self.files[name])


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "labwarden tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(path: Path, key) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _leaf(pki: Pki, name: str, key, sans: list[str], issuer_name: x509.Name, issuer_key,
          not_before: dt.datetime, not_after: dt.datetime, digest) -> None:
    builder = (x509.CertificateBuilder()
               .subject_name(_name(sans[0]))
               .issuer_name(issuer_name)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(not_before)
               .not_valid_after(not_after)
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), False)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                            key_encipherment=True, data_encipherment=False,
                                            key_agreement=False, key_cert_sign=False,
                                            crl_sign=False, encipher_only=False,
                                            decipher_only=False), True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   issuer_key.public_key()), False))
    if isinstance(digest, hashes.SHA1):
        cert = _sign_sha1(builder.sign(issuer_key, hashes.SHA256()), issuer_key)
    else:
        cert = builder.sign(issuer_key, digest)
    pki.ders[name] = cert.public_bytes(serialization.Encoding.DER)
    (pki.directory / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(pki.directory / f"{name}.key", key)
    pki.files[f"{name}.crt"] = pki.directory / f"{name}.crt"
    pki.files[f"{name}.key"] = pki.directory / f"{name}.key"


def _der_length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


_SHA256_RSA = bytes.fromhex("06092a864886f70d01010b")
_SHA1_RSA = bytes.fromhex("06092a864886f70d010105")


def _sign_sha1(cert: x509.Certificate, issuer_key) -> x509.Certificate:
    """Re-sign an RSA-signed certificate with SHA-1, which `cryptography` no longer does:
    swap the algorithm in the to-be-signed part, sign it, and assemble the DER by hand."""
    tbs = cert.tbs_certificate_bytes
    assert tbs.count(_SHA256_RSA) == 1
    tbs = tbs.replace(_SHA256_RSA, _SHA1_RSA)
    signature = issuer_key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())
    algorithm = b"\x30" + _der_length(len(_SHA1_RSA) + 2) + _SHA1_RSA + b"\x05\x00"
    bits = b"\x03" + _der_length(len(signature) + 1) + b"\x00" + signature
    body = tbs + algorithm + bits
    return x509.load_der_x509_certificate(b"\x30" + _der_length(len(body)) + body)


def make_pki(directory: Path) -> Pki:
    """A test CA, the four sites' certificates and the DH groups, written to `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    pki = Pki(directory)
    now = dt.datetime.now(dt.UTC)
    day = dt.timedelta(days=1)

    ca_key = rsa.generate_private_key(65537, 2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "labwarden tests"),
                         x509.NameAttribute(NameOID.COMMON_NAME, "labwarden test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - day).not_valid_after(now + 3650 * day)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, key_cert_sign=True, crl_sign=True,
                                       encipher_only=False, decipher_only=False), True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
          .sign(ca_key, hashes.SHA256()))
    (directory / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.files["ca.crt"] = directory / "ca.crt"
    pki.ca_key, pki.ca_name = ca_key, ca_name

    # STRONG: RSA 2048 (so the DHE-RSA suites of the profile apply), SHA-256, 90 days.
    _leaf(pki, "strong", rsa.generate_private_key(65537, 2048), ["strong.test"], ca_name,
          ca_key, now - day, now + 90 * day, hashes.SHA256())
    # WEAK: RSA 1024, SHA-1, expires in 10 days, issued for another name.
    _leaf(pki, "weak", rsa.generate_private_key(65537, 1024), ["other.test"], ca_name,
          ca_key, now - 30 * day, now + 10 * day, hashes.SHA1())
    # GNUTLS: self-signed and expired yesterday.
    g_key = rsa.generate_private_key(65537, 2048)
    _leaf(pki, "ciphers", g_key, ["ciphers.test"], _name("ciphers.test"), g_key,
          now - 60 * day, now - day, hashes.SHA256())
    # SCRIPTED: a sound certificate, so that only protocol findings remain.
    _leaf(pki, "legacy", rsa.generate_private_key(65537, 2048), ["legacy.test"], ca_name,
          ca_key, now - day, now + 90 * day, hashes.SHA256())

    (directory / "dh1024.pem").write_bytes(dh_pem(oakley_group2()))
    (directory / "ffdhe2048.pem").write_bytes(dh_pem(ffdhe2048()))
    pki.files["dh1024.pem"] = directory / "dh1024.pem"
    pki.files["ffdhe2048.pem"] = directory / "ffdhe2048.pem"
    return pki


# --- nginx --------------------------------------------------------------------------------

_NGINX_SITE = """
    server {{
        listen {address}:{port} ssl;
        server_name {name};
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols {protocols};
        ssl_ciphers "{ciphers}";
        ssl_prefer_server_ciphers on;
        ssl_dhparam {dhparam};
        ssl_session_tickets off;
        return 200 "{name}\\n";
    }}
"""


@dataclass
class Nginx:
    proc: subprocess.Popen
    ports: dict[str, int]
    directory: Path

    def stop(self) -> None:
        stop_process(self.proc)


def start_nginx(pki: Pki, directory: Path, sites: dict[str, dict]) -> Nginx:
    """One nginx (a master and two workers) serving each site on its own loopback port."""
    binary = need("nginx", "nginx")
    directory.mkdir(parents=True, exist_ok=True)
    for sub in ("logs", "tmp"):
        (directory / sub).mkdir(exist_ok=True)
    ports, servers = {}, []
    for name, site in sites.items():
        site = dict(site)
        port = site.pop("port", None) or free_port()
        ports[name] = port
        servers.append(_NGINX_SITE.format(address=LOOPBACK, port=port, **site))
    tmp = directory / "tmp"
    conf = f"""
daemon off;
worker_processes 2;
user root;
pid {directory}/nginx.pid;
error_log {directory}/logs/error.log crit;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
{''.join(servers)}
}}
"""
    conf_path = directory / "nginx.conf"
    conf_path.write_text(conf)
    log = directory / "logs" / "stderr.log"
    with open(log, "wb") as stderr:
        proc = subprocess.Popen([*_die_with_parent(), binary, "-p", str(directory), "-e",
                                 str(log), "-c", str(conf_path)],
                                stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
    try:
        for port in ports.values():
            wait_listening(port, proc, log=log)
    except Exception:
        stop_process(proc)
        raise
    return Nginx(proc, ports, directory)


def nginx_sites(pki: Pki, weak_port: int | None = None, strong_port: int | None = None) -> dict:
    return {
        "weak": {"name": "weak.test", "cert": pki.path("weak.crt"), "key": pki.path("weak.key"),
                     "protocols": "TLSv1 TLSv1.1 TLSv1.2", "ciphers": WEAK_CIPHERS,
                     "dhparam": pki.path("dh1024.pem"), "port": weak_port},
        "strong": {"name": "strong.test", "cert": pki.path("strong.crt"),
                       "key": pki.path("strong.key"), "protocols": "TLSv1.2 TLSv1.3",
                       "ciphers": MOZILLA_INTERMEDIATE, "dhparam": pki.path("ffdhe2048.pem"),
                       "port": strong_port},
    }


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# --- gnutls-serv in its own network namespace, behind a loopback relay -------------------

_CLONE_NEWNET = 0x40000000


class Relay:
    """Accepts on 127.0.0.1:port and forwards each connection into a network namespace."""

    def __init__(self, netns_pid: int, inner_port: int):
        self.netns_pid, self.inner_port = netns_pid, inner_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((LOOPBACK, 0))
        self.listener.listen(256)
        self.port = self.listener.getsockname()[1]
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.closed = False
        # gnutls-serv is single-threaded with a listen backlog of 10: past that, its kernel
        # drops SYNs and clients wait for retransmits. Queue here instead.
        self.slots = threading.BoundedSemaphore(8)
        self.thread = threading.Thread(target=self._run, name="tls-relay", daemon=True)
        self.thread.start()

    def _enter_namespace(self) -> None:
        # `unshare` makes the namespace, then execs: wait until the child is in it.
        own = os.readlink("/proc/self/ns/net")
        end = time.monotonic() + 10
        while os.readlink(f"/proc/{self.netns_pid}/ns/net") == own:
            if time.monotonic() > end:
                raise RuntimeError("the server never entered its network namespace")
            time.sleep(0.005)
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/proc/{self.netns_pid}/ns/net", os.O_RDONLY)
        try:
            if libc.setns(fd, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns into the test network namespace")
        finally:
            os.close(fd)

    def _dial(self) -> socket.socket:
        return socket.create_connection((LOOPBACK, self.inner_port), 5)

    def _run(self) -> None:
        try:
            self._enter_namespace()     # this thread only: its sockets live in the namespace
            end = time.monotonic() + 10
            while True:
                try:
                    self._dial().close()
                    break
                except OSError:
                    if time.monotonic() > end:
                        raise
                    time.sleep(0.02)
        except BaseException as exc:  # noqa: BLE001 - reported by wait()
            self.error = exc
            self.ready.set()
            return
        self.ready.set()
        while not self.closed:
            try:
                outer, _ = self.listener.accept()
            except OSError:
                return
            self.slots.acquire()
            try:
                inner = self._dial()
            except OSError:
                outer.close()
                self.slots.release()
                continue
            threading.Thread(target=self._serve, args=(outer, inner), daemon=True).start()

    def _serve(self, outer: socket.socket, inner: socket.socket) -> None:
        try:
            _bridge(outer, inner)
        finally:
            self.slots.release()

    def wait(self) -> None:
        self.ready.wait(15)
        if self.error is not None:
            raise RuntimeError(f"relay into the namespace failed: {self.error}")

    def close(self) -> None:
        self.closed = True
        self.listener.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def _bridge(outer: socket.socket, inner: socket.socket) -> None:
    back = threading.Thread(target=_pump, args=(inner, outer), daemon=True)
    back.start()
    _pump(outer, inner)
    back.join(30)
    outer.close()
    inner.close()


@dataclass
class Gnutls:
    proc: subprocess.Popen
    relay: Relay

    @property
    def port(self) -> int:
        return self.relay.port

    def stop(self) -> None:
        self.relay.close()
        stop_process(self.proc)


def start_gnutls(pki: Pki, directory: Path, priority: str = GNUTLS_PRIORITY) -> Gnutls:
    binary = need("gnutls-serv", "gnutls-bin")
    unshare = need("unshare", "util-linux")
    ip = need("ip", "iproute2")
    directory.mkdir(parents=True, exist_ok=True)
    inner_port = 4433
    command = (f"{ip} link set lo up && exec {binary} --port {inner_port} "
               f"--x509certfile {pki.path('ciphers.crt')} --x509keyfile {pki.path('ciphers.key')} "
               f"--dhparams {pki.path('ffdhe2048.pem')} --priority '{priority}' "
               f"--disable-client-cert --http")
    log = directory / "gnutls.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([*_die_with_parent(), unshare, "--net", "sh", "-c", command],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    relay = Relay(proc.pid, inner_port)
    try:
        relay.wait()
        if proc.poll() is not None:
            raise RuntimeError(f"gnutls-serv exited: {log.read_text(errors='replace')[-2000:]}")
    except Exception:
        relay.close()
        stop_process(proc)
        raise
    return Gnutls(proc, relay)


# --- openssl s_server: client-initiated renegotiation allowed ------------------------------

@dataclass
class OpenSslServer:
    proc: subprocess.Popen
    port: int

    def stop(self) -> None:
        stop_process(self.proc)


def start_openssl(pki: Pki, directory: Path, *extra: str) -> OpenSslServer:
    """`openssl s_server -www` on a loopback port with the strong site's certificate; `extra`
    options such as `-client_renegotiation` (OpenSSL 3 refuses a client's renegotiation
    unless told). It serves one connection at a time: enough for one probe."""
    binary = need("openssl", "openssl")
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = directory / "s_server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [*_die_with_parent(), binary, "s_server", "-accept", f"{LOOPBACK}:{port}",
             "-cert", pki.path("strong.crt"), "-key", pki.path("strong.key"), "-www",
             "-quiet", *extra],
            stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)       # stdin kept open: s_server stops at its end
    try:
        wait_listening(port, proc, log=log)
    except Exception:
        stop_process(proc)
        raise
    return OpenSslServer(proc, port)


# --- a scripted SSL 3.0 / TLS 1.0 server (first flight only) -----------------------------

# Server preference: EXPORT first, then DHE with a 512-bit group, then static RSA.
LEGACY_SUITES = (0x0003, 0x0008, 0x0033, 0x002F)
LEGACY_DH_PRIME = (1 << 511) | 0x1234567 | 1      # the size is what the probe reads


class _LegacyHandler(socketserver.BaseRequestHandler):
    versions = (0x0300, 0x0301)

    def handle(self) -> None:
        sock: socket.socket = self.request
        hello = _hello_or_none(sock)
        if hello is None:
            return
        client_version, offered, _ = hello
        version = min(client_version, max(self.versions))
        if version < min(self.versions):
            sock.sendall(_record(21, 0x0300, b"\x02\x46"))      # protocol_version
            return
        suite = next((s for s in LEGACY_SUITES if s in offered), None)
        if suite is None:
            sock.sendall(_record(21, version, b"\x02\x28"))     # handshake_failure
            return
        body = struct.pack("!H", version) + os.urandom(32) + b"\x00" + struct.pack("!H", suite) + b"\x00"
        flight = _handshake(2, body)
        der = self.server.certificate                             # type: ignore[attr-defined]
        certs = struct.pack("!I", len(der))[1:] + der
        flight += _handshake(11, struct.pack("!I", len(certs))[1:] + certs)
        if suite == 0x0033:
            p = LEGACY_DH_PRIME.to_bytes(64, "big")
            ske = struct.pack("!H", len(p)) + p + b"\x00\x01\x02" + b"\x00\x40" + os.urandom(64)
            ske += b"\x00\x40" + os.urandom(64)                   # an (unchecked) signature
            flight += _handshake(12, ske)
        flight += _handshake(14, b"")
        sock.sendall(_record(22, version, flight))
        with contextlib.suppress(OSError):
            sock.recv(4096)                                       # until the client leaves


def _handshake(kind: int, body: bytes) -> bytes:
    return struct.pack("!B", kind) + struct.pack("!I", len(body))[1:] + body


def _record(kind: int, version: int, payload: bytes) -> bytes:
    return struct.pack("!BHH", kind, version, len(payload)) + payload


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ValueError("closed")
        data += chunk
    return data


def _hello_or_none(sock: socket.socket) -> tuple[int, set[int], set[int]] | None:
    """The client's hello (see _read_client_hello), None when there is none to answer."""
    sock.settimeout(5)
    try:
        return _read_client_hello(sock)
    except (OSError, ValueError):
        return None


def _read_client_hello(sock: socket.socket) -> tuple[int, set[int], set[int]] | None:
    """(client version, suites offered, extension types) of the ClientHello, or None."""
    header = _recv_exact(sock, 5)
    if header[0] != 22:
        return None
    payload = _recv_exact(sock, struct.unpack("!H", header[3:5])[0])
    if payload[0] != 1:
        return None
    body = payload[4:]
    client_version = struct.unpack("!H", body[:2])[0]
    offset = 34
    offset += 1 + body[offset]
    count = struct.unpack("!H", body[offset:offset + 2])[0]
    suites = {struct.unpack("!H", body[offset + 2 + i:offset + 4 + i])[0] for i in range(0, count, 2)}
    offset += 2 + count
    offset += 1 + body[offset]                                    # compression methods
    extensions: set[int] = set()
    if offset + 2 <= len(body):
        end = offset + 2 + struct.unpack("!H", body[offset:offset + 2])[0]
        offset += 2
        while offset + 4 <= end:
            kind, length = struct.unpack("!HH", body[offset:offset + 4])
            extensions.add(kind)
            offset += 4 + length
    return client_version, suites, extensions


class _ThreadingServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


@dataclass
class Legacy:
    server: _ThreadingServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _start_scripted(handler, pki: Pki, name: str, port: int = 0, **attributes) -> Legacy:
    """One of the scripted servers on a loopback port, serving the legacy certificate;
    `attributes` are set on the server for its handler to read."""
    server = _ThreadingServer((LOOPBACK, port), handler)
    server.certificate = pki.ders["legacy"]                       # type: ignore[attr-defined]
    for key, value in attributes.items():
        setattr(server, key, value)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"tls-{name}", daemon=True)
    thread.start()
    return Legacy(server, thread)


def start_legacy(pki: Pki, port: int = 0) -> Legacy:
    return _start_scripted(_LegacyHandler, pki, "legacy", port)


# --- a scripted server that still answers heartbeats (OpenSSL 1.0.1 did) ----------------

# What the vulnerable server "leaks": a test asserts it never reaches any output.
LEAKED_MEMORY = b"session=LEAKED-COOKIE-4242; password=LEAKED-hunter2; " * 300


class _HeartbeatHandler(socketserver.BaseRequestHandler):
    """TLS 1.0 to 1.2 with AES-CBC static-RSA suites, accepting the heartbeat extension.
    `vulnerable` (CVE-2014-0160) answers a heartbeat request with as many bytes of
    "memory" as the request claims; otherwise the request is dropped (RFC 6520, 4)."""

    def handle(self) -> None:
        sock: socket.socket = self.request
        hello = _hello_or_none(sock)
        if hello is None:
            return
        client_version, offered, extensions = hello
        version = min(client_version, 0x0303)
        suite = next((s for s in (0x002F, 0x0035) if s in offered), None)
        if version < 0x0301 or suite is None:
            sock.sendall(_record(21, 0x0301, b"\x02\x28"))     # handshake_failure
            return
        server_extensions = b"\x00\x0f\x00\x01\x01" if 15 in extensions else b""
        body = (struct.pack("!H", version) + os.urandom(32) + b"\x00" + struct.pack("!H", suite)
                + b"\x00" + struct.pack("!H", len(server_extensions)) + server_extensions)
        der = self.server.certificate                             # type: ignore[attr-defined]
        certs = struct.pack("!I", len(der))[1:] + der
        flight = (_handshake(2, body) + _handshake(11, struct.pack("!I", len(certs))[1:] + certs)
                  + _handshake(14, b""))
        sock.sendall(_record(22, version, flight))
        try:
            while True:
                kind, _, length = struct.unpack("!BHH", _recv_exact(sock, 5))
                payload = _recv_exact(sock, length)
                if kind != 24:
                    return                  # a real handshake goes on: not scripted here
                if not self.server.vulnerable:                    # type: ignore[attr-defined]
                    continue
                claimed = struct.unpack("!H", payload[1:3])[0]
                leaked = (payload[3:] + LEAKED_MEMORY)[:claimed]
                sock.sendall(_record(24, version, b"\x02" + struct.pack("!H", claimed)
                                     + leaked + os.urandom(16)))
        except (OSError, ValueError):
            return


def start_heartbeat(pki: Pki, vulnerable: bool) -> Legacy:
    return _start_scripted(_HeartbeatHandler, pki, "heartbeat", vulnerable=vulnerable)


# --- a scripted SSL 2.0 server (SERVER-HELLO only) ---------------------------------------

# What it accepts: RC4 and 3DES, and RC4 EXPORT40.
SSL2_SPECS = (0x010080, 0x0700C0, 0x020080)


class _Ssl2Handler(socketserver.BaseRequestHandler):
    """Answers an SSL 2.0 CLIENT-HELLO with a SERVER-HELLO naming the specs both sides
    have; refuses every TLS hello with a handshake_failure alert, as an SSL 2.0-only stack
    of the 1990s would."""

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(5)
        try:
            head = _recv_exact(sock, 2)
            if not head[0] & 0x80:
                sock.sendall(_record(21, 0x0300, b"\x02\x28"))
                return
            message = _recv_exact(sock, ((head[0] & 0x7F) << 8) | head[1])
        except (OSError, ValueError):
            return
        if message[0] != 1:
            return
        specs_length = struct.unpack("!H", message[3:5])[0]
        offered = {int.from_bytes(message[9 + i:12 + i], "big")
                   for i in range(0, specs_length, 3)}
        chosen = b"".join(c.to_bytes(3, "big") for c in SSL2_SPECS if c in offered)
        der = self.server.certificate                             # type: ignore[attr-defined]
        body = (b"\x04\x00\x01" + struct.pack("!HHHH", 0x0002, len(der), len(chosen), 16)
                + der + chosen + os.urandom(16))
        sock.sendall(struct.pack("!H", 0x8000 | len(body)) + body)
        with contextlib.suppress(OSError):
            sock.recv(4096)


def start_sslv2(pki: Pki) -> Legacy:
    return _start_scripted(_Ssl2Handler, pki, "sslv2")


# --- probe options for these servers -----------------------------------------------------

TEST_NAMES = ("weak.test", "strong.test", "ciphers.test", "legacy.test")


def probe_options(pki: Pki | None = None, **overrides):
    """Probe options pinning the test names to 127.0.0.1 (curl --resolve style), with the
    test CA as the user's CA file when `pki` is given."""
    from labwarden.sources.live.collect import ProbeOptions

    opts = ProbeOptions(timeout=overrides.pop("timeout", 5.0),
                        deadline=overrides.pop("deadline", 30.0),
                        ca_file=pki.path("ca.crt") if pki is not None else None, **overrides)
    opts.resolve = {name: LOOPBACK for name in TEST_NAMES}
    return opts
