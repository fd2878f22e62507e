"""Real servers on loopback for the host, ports and default-credential tests.

Session fixtures start, as root on a fresh Debian machine:
  * an OpenSSH server (openssh-server) on 127.0.0.1 with a generated host key and client key;
  * two PostgreSQL clusters (postgresql) initialised in temporary directories, run as the
    postgres user on loopback high ports: one authenticating with SCRAM-SHA-256, one with
    MD5, both with the default postgres/postgres, plus a role with a strong password and a
    role allowed in without a password (trust);
  * fake Grafana and Nginx Proxy Manager login endpoints (http.server in a thread), in a
    weak variant (default credentials accepted) and a strong one;
  * a plain TCP listener and a black-holed port (its accept queue full: SYNs are dropped).

A missing server binary fails the fixture with the Debian package to install. All traffic
stays on 127.0.0.1 (or inside a network namespace a test creates).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

STRONG_PASSWORD = "Xq7-vR2p-Lm9w-Tz4k-Hs8d"   # test-only role password, not a default


def need(binary: str, package: str, paths: tuple[str, ...] = ()) -> str:
    found = shutil.which(binary) or next((p for p in paths if os.path.exists(p)), None)
    if not found:
        pytest.fail(f"{binary} not found: install the Debian package {package} "
                    f"(apt-get install -y {package})", pytrace=False)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, process: subprocess.Popen | None = None, timeout: float = 20.0,
              what: str = "server", host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            out = process.stdout.read().decode(errors="replace") if process.stdout else ""
            pytest.fail(f"{what} exited with {process.returncode}: {out[-2000:]}",
                        pytrace=False)
        with contextlib.suppress(OSError), socket.create_connection((host, port), 0.2):
            return
        time.sleep(0.05)
    pytest.fail(f"{what} did not listen on {host}:{port} within {timeout:g} s",
                pytrace=False)


# --- OpenSSH -------------------------------------------------------------------------------

@dataclass
class SshServer:
    port: int
    key: str               # client private key
    known_hosts: str       # lists the server's host key for [127.0.0.1]:port
    directory: str


@pytest.fixture(scope="session")
def sshd_server():
    sshd = need("sshd", "openssh-server", ("/usr/sbin/sshd",))
    keygen = need("ssh-keygen", "openssh-client")
    directory = tempfile.mkdtemp(prefix="lw-sshd-")
    os.chmod(directory, 0o700)
    host_key = os.path.join(directory, "host_ed25519")
    client_key = os.path.join(directory, "client_ed25519")
    for path in (host_key, client_key):
        subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", path], check=True)
    shutil.copy(client_key + ".pub", os.path.join(directory, "authorized_keys"))
    port = free_port()
    config = os.path.join(directory, "sshd_config")
    with open(config, "w") as handle:
        handle.write(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {directory}/sshd.pid
AuthorizedKeysFile {directory}/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
LogLevel ERROR
""")
    os.makedirs("/run/sshd", exist_ok=True)
    process = subprocess.Popen([sshd, "-D", "-e", "-f", config], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    try:
        wait_port(port, process, what="sshd")
        with open(host_key + ".pub") as handle:
            kind, blob = handle.read().split()[:2]
        known_hosts = os.path.join(directory, "known_hosts")
        with open(known_hosts, "w") as handle:
            handle.write(f"[127.0.0.1]:{port} {kind} {blob}\n")
        yield SshServer(port, client_key, known_hosts, directory)
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)
        if process.poll() is None:
            process.kill()
        shutil.rmtree(directory, ignore_errors=True)


# --- PostgreSQL ----------------------------------------------------------------------------

@dataclass
class PgCluster:
    host: str
    port: int
    method: str            # scram-sha-256 | md5
    directory: str


# The SCRAM cluster listens on PostgreSQL's own port 5432, on an address of 127.0.0.0/8 of
# its own (all of 127/8 is loopback on Linux), so that classification by port number and
# `tcp://host` without a port are tested for real without touching 127.0.0.1:5432.
PG_ALIAS = f"127.{(os.getpid() >> 8) % 200 + 20}.{os.getpid() % 250 + 2}.54"


def _pg_bin(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if not candidates:
        pytest.fail(f"PostgreSQL's {name} not found: install the Debian package postgresql "
                    "(apt-get install -y postgresql)", pytrace=False)
    return candidates[0]


def _as_postgres(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    runuser = need("runuser", "util-linux")
    return subprocess.run([runuser, "-u", "postgres", "--", *argv], check=True,
                          capture_output=True, **kwargs)


def _start_cluster(method: str, host: str, port: int) -> tuple[PgCluster, subprocess.Popen]:
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("no postgres user: install the Debian package postgresql", pytrace=False)
    directory = tempfile.mkdtemp(prefix=f"lw-pg-{method[:5]}-")
    os.chown(directory, user.pw_uid, user.pw_gid)
    data = os.path.join(directory, "data")
    _as_postgres([_pg_bin("initdb"), "-D", data, "-U", "postgres", "--auth-local=trust",
                  f"--auth-host={method}", "-E", "UTF8", "--locale=C", "--no-sync"])
    with open(os.path.join(data, "pg_hba.conf"), "w") as handle:
        handle.write(f"local all all trust\n"
                     f"host all trustme 127.0.0.0/8 trust\n"
                     f"host all all 127.0.0.0/8 {method}\n")
    process = subprocess.Popen(         # the postmaster itself, so signals reach it
        [_pg_bin("postgres"), "-D", data, "-p", str(port),
         "-k", directory, "-c", f"listen_addresses={host}", "-c", "fsync=off",
         "-c", f"password_encryption={method}", "-c", "shared_buffers=16MB",
         "-c", "max_connections=20", "-c", "logging_collector=off"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, user=user.pw_uid,
        group=user.pw_gid, extra_groups=[], cwd=directory)
    wait_port(port, process, what=f"postgres ({method})", host=host)
    psql = _pg_bin("psql") if glob.glob("/usr/lib/postgresql/*/bin/psql") else need(
        "psql", "postgresql-client")
    sql = ("ALTER ROLE postgres PASSWORD 'postgres'; "
           f"CREATE ROLE app LOGIN PASSWORD '{STRONG_PASSWORD}'; "
           "CREATE ROLE trustme LOGIN;")
    for _ in range(50):          # the socket may accept before the server takes logins
        try:
            _as_postgres([psql, "-h", directory, "-p", str(port), "-U", "postgres", "-d",
                          "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
            break
        except subprocess.CalledProcessError as exc:
            if b"starting up" not in exc.stderr and b"No such file" not in exc.stderr:
                raise
            time.sleep(0.1)
    return PgCluster(host, port, method, directory), process


@pytest.fixture(scope="session")
def pg_clusters():
    from concurrent.futures import ThreadPoolExecutor

    started = []
    with ThreadPoolExecutor(2) as pool:        # initdb and start both at once
        futures = [pool.submit(_start_cluster, "scram-sha-256", PG_ALIAS, 5432),
                   pool.submit(_start_cluster, "md5", "127.0.0.1", free_port())]
        errors = []
        for future in futures:
            try:
                started.append(future.result())
            except BaseException as exc:  # noqa: BLE001 - stop what started, then report
                errors.append(exc)
    try:
        if errors:
            raise errors[0]
        yield {c.method: c for c, _ in started}
    finally:
        for cluster, process in started:
            process.send_signal(signal.SIGINT)     # PostgreSQL's "fast" shutdown
        for cluster, process in started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)
            if process.poll() is None:
                process.kill()
                process.wait()
            shutil.rmtree(cluster.directory, ignore_errors=True)


# --- fake Grafana and Nginx Proxy Manager ----------------------------------------------------

class _FakeApp(BaseHTTPRequestHandler):
    weak = True
    kind = "grafana"
    attempts: list

    def log_message(self, *args):        # quiet
        pass

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.kind == "grafana" and self.path == "/api/health":
            return self._json(200, {"commit": "03f502a94d", "database": "ok",
                                    "version": "11.3.0"})
        if self.kind == "npm" and self.path == "/api/":
            return self._json(200, {"status": "OK", "setup": True,
                                    "version": {"major": 2, "minor": 12, "revision": 1}})
        return self._json(404, {"message": "Not found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self._json(400, {"message": "bad request"})
        type(self).attempts.append(self.path)
        if self.kind == "grafana" and self.path == "/login":
            if self.weak and body.get("user") == "admin" and body.get("password") == "admin":
                return self._json(200, {"message": "Logged in", "redirectUrl": "/"})
            return self._json(401, {"message": "Invalid username or password"})
        if self.kind == "npm" and self.path == "/api/tokens":
            if self.weak and body.get("identity") == "admin@example.com" and \
                    body.get("secret") == "changeme":
                return self._json(200, {"token": "eyJhbGciOiJSUzI1NiJ9.e30.sig",
                                        "expires": "2026-01-01T00:00:00.000Z"})
            return self._json(401, {"error": {"code": 401,
                                              "message": "Invalid email or password"}})
        return self._json(404, {"message": "Not found"})


@dataclass
class FakeApp:
    port: int
    kind: str
    weak: bool
    handler: type

    @property
    def attempts(self) -> list:
        return self.handler.attempts


@pytest.fixture(scope="session")
def fake_apps():
    servers = []
    apps = {}
    try:
        for kind in ("grafana", "npm"):
            for weak in (True, False):
                handler = type(f"Fake_{kind}_{weak}", (_FakeApp,),
                               {"kind": kind, "weak": weak, "attempts": []})
                server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
                server.daemon_threads = True
                thread = threading.Thread(target=server.serve_forever, daemon=True)
                thread.start()
                servers.append(server)
                apps[(kind, "weak" if weak else "strong")] = FakeApp(
                    server.server_address[1], kind, weak, handler)
        yield apps
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


# --- plain TCP listener, black-holed port ------------------------------------------------------

@dataclass
class TcpPorts:
    open: int
    closed: int
    blackholed: int


@pytest.fixture(scope="session")
def tcp_ports():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                conn, _ = listener.accept()
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    # A port whose accept queue is full: Linux drops further SYNs, as a firewall DROP would.
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(0)
    fillers = []
    for _ in range(2):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError, OSError):
            filler.connect(hole.getsockname())
        fillers.append(filler)
    time.sleep(0.1)
    closed = free_port()
    try:
        yield TcpPorts(listener.getsockname()[1], closed, hole.getsockname()[1])
    finally:
        stop.set()
        thread.join(2)
        for sock in [listener, hole, *fillers]:
            sock.close()


@pytest.fixture
def netns():
    """A network namespace of the test's own (only lo, brought up): nothing it does reaches
    the host's network."""
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    ip = shutil.which("ip")
    if ip is None:
        pytest.fail("ip not found: install the Debian package iproute2", pytrace=False)
    for tool, package in (("iptables-restore", "iptables"), ("nft", "nftables")):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} not found: install the Debian package {package}",
                        pytrace=False)
    name = f"lwtest-{uuid.uuid4().hex[:8]}"
    created = subprocess.run([ip, "netns", "add", name], capture_output=True, check=False)
    if created.returncode != 0:
        pytest.skip(f"cannot create a network namespace here: {created.stderr.decode()[:200]}")
    processes = []

    def inside(*argv, stdin: bytes | None = None, background: bool = False):
        command = [ip, "netns", "exec", name, *argv]
        if background:
            process = subprocess.Popen(command, stdout=subprocess.PIPE)
            processes.append(process)
            return process
        return subprocess.run(command, input=stdin, check=True, capture_output=True)

    try:
        inside("ip", "link", "set", "lo", "up")
        yield name, inside
    finally:
        for process in processes:
            process.kill()
            process.wait()
        subprocess.run([ip, "netns", "del", name], capture_output=True, check=False)
