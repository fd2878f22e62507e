"""Real HTTP servers on loopback for the header probe's tests.

* `Pki`: a test CA and a server certificate for 127.0.0.1 / localhost (cryptography).
* `Nginx`: one nginx process serving three https sites, each with its plain-HTTP port at
  the derived number (xx443 -> xx080):
    STRONG  every header right, strict nonce CSP, good cookies, server_tokens off; its
            plain port 301-redirects to it; /api is a JSON answer with only HSTS + nosniff;
    WEAK    no security headers but a CSP with 'unsafe-inline', server_tokens on,
            X-Powered-By with a version, X-XSS-Protection: 1, a session cookie without
            flags; its plain port serves the page without redirecting;
    MIXED   short HSTS without includeSubDomains, CSP in Report-Only only, X-Frame-Options
            ALLOW-FROM, Referrer-Policy unsafe-url, a cookie with an invalid SameSite,
            X-XSS-Protection: 1; mode=block (tolerated); its plain port redirects to
            another host (never followed).
* `Drip`: an asyncio server that sends its answer one byte a second (headers, or only the
  body), in a thread with its own event loop.
* `BlackHole`: a listening socket that never accepts: connections complete in the kernel
  and then nothing ever answers.

Everything binds 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import random
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

NGINX_PACKAGE = "nginx"          # Debian package that provides /usr/sbin/nginx


# --- certificates --------------------------------------------------------------------------

@dataclass
class Pki:
    ca_file: str
    cert_file: str
    key_file: str


def make_pki(directory: Path) -> Pki:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "labwarden test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        # A validity a real site has (90 days, Let's Encrypt's): not "expiring soon".
        .not_valid_after(now + dt.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca_cert.public_bytes(pem))
    (directory / "server.pem").write_bytes(cert.public_bytes(pem))
    (directory / "server.key").write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return Pki(str(directory / "ca.pem"), str(directory / "server.pem"),
               str(directory / "server.key"))


# --- ports ---------------------------------------------------------------------------------

def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def site_bases(count: int, rng: random.Random) -> list[int]:
    """`count` thousands (20..65) whose xx443 and xx080 ports are both free on loopback."""
    candidates = list(range(20, 66))
    rng.shuffle(candidates)
    chosen = [b for b in candidates if _free(b * 1000 + 443) and _free(b * 1000 + 80)]
    if len(chosen) < count:
        raise RuntimeError("not enough free loopback port pairs (xx443/xx080) in 20443-65443")
    return chosen[:count]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    if port % 1000 == 443:            # keep the derived plain-port check out of these
        return free_port()
    return port


# --- nginx ---------------------------------------------------------------------------------

def find_nginx() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)),
        None)


STRONG_CSP = ("default-src 'self'; script-src 'nonce-$request_id' 'strict-dynamic' "
              "'unsafe-inline' https:; object-src 'none'; base-uri 'none'; "
              "frame-ancestors 'none'; form-action 'self'")
SESSION_SECRET = "s3cr3t-session-value-0123456789"

NGINX_CONF = r"""
worker_processes 1;
daemon off;
master_process on;
pid {run}/nginx.pid;
error_log {run}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    default_type text/html;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    # Mozilla's intermediate suites (the ECDSA ones serve this EC certificate): a TLS
    # configuration with nothing to report, as the strong site's is meant to be.
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305;

    # STRONG -------------------------------------------------------------------------
    server {{
        listen 127.0.0.1:{strong_https} ssl;
        server_tokens off;
        location / {{
            add_header Strict-Transport-Security "max-age=63072000; includeSubDomains; preload" always;
            add_header Content-Security-Policy "{strong_csp}" always;
            add_header X-Frame-Options "DENY" always;
            add_header X-Content-Type-Options "nosniff" always;
            add_header Referrer-Policy "strict-origin-when-cross-origin" always;
            add_header Permissions-Policy "geolocation=(), microphone=(), camera=()" always;
            add_header Cross-Origin-Resource-Policy "same-origin" always;
            add_header X-XSS-Protection "0" always;
            add_header Set-Cookie "__Host-session={secret}; Path=/; Secure; HttpOnly; SameSite=Strict" always;
            add_header Set-Cookie "theme=dark; Path=/; Secure; SameSite=Lax" always;
            add_header Set-Cookie "old_session=; Path=/; Max-Age=0" always;
            sub_filter_once off;
            sub_filter "NONCE" "$request_id";
            return 200 '<!doctype html><html><head><title>strong</title><script nonce="NONCE" src="/app.js"></script></head><body>strong</body></html>';
        }}
        location /api {{
            default_type application/json;
            add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;
            add_header X-Content-Type-Options "nosniff" always;
            return 200 '{{"ok": true}}';
        }}
    }}
    server {{
        listen 127.0.0.1:{strong_http};
        server_tokens off;
        return 301 https://$host:{strong_https}$request_uri;
    }}

    # WEAK ---------------------------------------------------------------------------
    server {{
        listen 127.0.0.1:{weak_https} ssl;
        server_tokens on;
        location / {{
            add_header Content-Security-Policy "default-src 'self'; script-src 'self' 'unsafe-inline'";
            add_header X-Powered-By "PHP/8.1.2";
            add_header X-XSS-Protection "1";
            add_header Set-Cookie "sessionid={secret}; Path=/";
            return 200 '<html><head><title>weak</title><script src="http://cdn.example/lib.js"></script></head><body>weak</body></html>';
        }}
    }}
    server {{
        listen 127.0.0.1:{weak_http};
        server_tokens on;
        location / {{ return 200 '<html><body>weak, in clear text</body></html>'; }}
    }}

    # MIXED --------------------------------------------------------------------------
    server {{
        listen 127.0.0.1:{mixed_https} ssl;
        server_tokens off;
        location / {{
            add_header Strict-Transport-Security "max-age=86400" always;
            add_header Content-Security-Policy-Report-Only "default-src 'self'" always;
            add_header X-Frame-Options "ALLOW-FROM https://portal.example" always;
            add_header X-Content-Type-Options "nosniff" always;
            add_header Referrer-Policy "unsafe-url" always;
            add_header Permissions-Policy "camera=()" always;
            add_header X-XSS-Protection "1; mode=block" always;
            add_header Set-Cookie "grafana_session={secret}; Path=/; Secure; HttpOnly; SameSite=Sometimes" always;
            return 200 '<html><head><title>mixed</title></head><body>mixed</body></html>';
        }}
    }}
    server {{
        listen 127.0.0.1:{mixed_http};
        server_tokens off;
        return 301 https://portal.example.invalid$request_uri;
    }}
}}
"""


class Nginx:
    def __init__(self, binary: str, run_dir: Path, pki: Pki, rng: random.Random):
        self.binary = binary
        self.run_dir = run_dir
        self.pki = pki
        self.rng = rng
        self.process: subprocess.Popen | None = None
        self.ports: dict[str, int] = {}

    def start(self) -> None:
        last_error = ""
        for _ in range(5):
            strong, weak, mixed = site_bases(3, self.rng)
            self.ports = {"strong_https": strong * 1000 + 443, "strong_http": strong * 1000 + 80,
                          "weak_https": weak * 1000 + 443, "weak_http": weak * 1000 + 80,
                          "mixed_https": mixed * 1000 + 443, "mixed_http": mixed * 1000 + 80}
            conf = self.run_dir / "nginx.conf"
            conf.write_text(NGINX_CONF.format(run=self.run_dir, cert=self.pki.cert_file,
                                              key=self.pki.key_file, strong_csp=STRONG_CSP,
                                              secret=SESSION_SECRET, **self.ports))
            with open(self.run_dir / "stderr.log", "wb") as log:
                self.process = subprocess.Popen(
                    [self.binary, "-p", str(self.run_dir), "-c", str(conf), "-e",
                     str(self.run_dir / "startup.log")],
                    stdout=log, stderr=log, start_new_session=True)
            if self._wait_ready(time.monotonic() + 10):
                return
            last_error = self._log_tail()
            self.stop()
        raise RuntimeError(f"nginx did not start: {last_error}")

    def _wait_ready(self, deadline: float) -> bool:
        """Every port answers and the nginx we started is still running (a port taken by
        someone else makes nginx exit, so a listener there is not ours)."""
        pending = set(self.ports.values())
        while pending and time.monotonic() < deadline and self.process.poll() is None:
            for port in list(pending):
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        pending.discard(port)
                except OSError:
                    pass
            if pending:
                time.sleep(0.05)
        return not pending and self.process.poll() is None

    def _log_tail(self) -> str:
        text = ""
        for name in ("stderr.log", "startup.log", "error.log"):
            path = self.run_dir / name
            if path.exists():
                text += path.read_text(errors="replace")[-800:]
        return text.strip() or "(no log)"

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)       # fast shutdown of master+workers
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                pass
        try:                                   # the session we started: workers included
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.process.poll() is None:
            self.process.wait(5)
        self.process = None


# --- slow-drip and black-holed servers ----------------------------------------------------

DRIP_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Drip: "
             + b"x" * 200 + b"\r\n\r\n")
DRIP_BODY_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                  b"X-Content-Type-Options: nosniff\r\nContent-Length: 100000\r\n\r\n<html>")


class Drip:
    """An asyncio server in its own thread. mode "head": the status line and headers come
    one byte a second; mode "body": headers at once, then the body one byte a second."""

    def __init__(self, mode: str, interval: float = 1.0):
        self.mode = mode
        self.interval = interval
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        try:
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            if self.mode == "body":
                writer.write(DRIP_BODY_HEAD)
                await writer.drain()
                data = b"<p>" + b"y" * 99_000
            else:
                data = DRIP_HEAD
            for i in range(len(data)):
                writer.write(data[i:i + 1])
                await writer.drain()
                await asyncio.sleep(self.interval)
        except (OSError, asyncio.IncompleteReadError, TimeoutError,
                asyncio.LimitOverrunError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def start(self) -> None:
        self.thread.start()
        future = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", self.port), self.loop)
        self.server = future.result(5)

    def stop(self) -> None:
        async def close():
            self.server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
        if self.server is not None:
            asyncio.run_coroutine_threadsafe(close(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class BlackHole:
    """Listens, never accepts: the kernel completes the handshake, nobody ever answers."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        if self.port % 1000 == 443:
            self.sock.close()
            self.__init__()
            return
        self.sock.listen(16)

    def stop(self) -> None:
        self.sock.close()
