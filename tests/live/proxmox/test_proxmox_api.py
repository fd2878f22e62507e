"""The Proxmox API path (`pve://`), against a real HTTPS server this test starts on
127.0.0.1 that serves a recorded response set: api/pve1.json, the node of node/pve1 as the
API answers it, written from the Proxmox VE API documentation (the API viewer's schema).
No Proxmox runs here.

The server checks the `Authorization: PVEAPIToken=…` header and answers only GET; its TLS
certificate is signed by a CA of the test's own, as Proxmox signs pve-ssl.pem with
pve-root-ca.pem. The token's secret must never appear in anything labwarden prints.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from labwarden.rules import registry
from labwarden.settings import Settings
from labwarden.sources.live import proxmox
from labwarden.sources.live.collect import ProbeOptions
from labwarden.sources.live.targets import parse_target
from labwarden.sources.proxmox.model import ProxmoxGuest

HERE = Path(__file__).parent
RECORDED = json.loads((HERE / "api" / "pve1.json").read_text())
NODE = HERE / "node" / "pve1"
TOKEN_ID = "auditor@pve!labwarden"
SECRET = "2f0c6a1e-9b4d-4c7e-8a35-d1f06b2e7c94"
TOKEN = f"{TOKEN_ID}={SECRET}"


@dataclass
class FakeNode:
    port: int
    ca_file: str
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, auth
    forbidden: set[str] = field(default_factory=set)

    @property
    def target(self) -> str:
        return f"pve://127.0.0.1:{self.port}"


def _pki(directory: Path) -> tuple[str, str, str]:
    """A CA, and a server certificate for 127.0.0.1 it signs: (ca, cert, key) files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(
        ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Proxmox Virtual "
                                            "Environment (test CA)")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=1))
          .not_valid_after(now + dt.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pve1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (directory / "pve-root-ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "pve-ssl.pem").write_bytes(cert.public_bytes(pem))
    (directory / "pve-ssl.key").write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return (str(directory / "pve-root-ca.pem"), str(directory / "pve-ssl.pem"),
            str(directory / "pve-ssl.key"))


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    ca_file, cert_file, key_file = _pki(tmp_path_factory.mktemp("pki"))
    state = FakeNode(0, ca_file)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):      # quiet
            pass

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            auth = self.headers.get("Authorization", "")
            state.requests.append(("GET", self.path, auth))
            if auth != f"PVEAPIToken={TOKEN}":
                return self._answer(401, {"data": None})
            path = self.path.removeprefix("/api2/json")
            if path in state.forbidden:
                return self._answer(403, {"data": None})
            if path not in RECORDED:
                return self._answer(500, {"data": None, "message": "no such path"})
            return self._answer(200, {"data": RECORDED[path]})

        def do_POST(self):                 # labwarden must never write
            state.requests.append(("POST", self.path, ""))
            self._answer(501, {"data": None})

        do_PUT = do_DELETE = do_POST

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def fresh(node):
    node.requests.clear()
    node.forbidden.clear()
    return node


def probe(node: FakeNode, **options) -> list:
    settings = {"ca_file": node.ca_file, "pve_token": TOKEN, "timeout": 5.0, **options}
    return asyncio.run(proxmox.probe(parse_target(node.target), ProbeOptions(**settings)))


def judged(facts: list) -> set[tuple[str, str]]:
    return {(rule.id, fact.asset) for fact in facts for rule in registry.rules_for(type(fact))
            for _ in rule.check(fact, Settings())}


def test_the_api_and_the_files_give_the_same_facts_and_findings(fresh):
    from_api = probe(fresh)
    from_files = asyncio.run(proxmox.probe(parse_target(f"snapshot:{NODE}"), ProbeOptions()))
    assert from_api[0].diagnostics == []
    # the cluster is named after the target; guests and jobs after the node and job IDs
    assert [(type(f), f.asset) for f in from_api[1:]] == \
        [(type(f), f.asset) for f in from_files[1:]]
    assert judged(from_api) == judged(from_files) == {
        ("PVE001", "pve:pve1/102"), ("PVE004", "pve:pve1/102"),
        ("PVE010", "pve:pve1/103"), ("PVE020", "pve:pve1/200")}
    job = from_api[-1]
    assert job.covers == {101, 102, 103, 201} and job.storage_type == "pbs"
    assert str(job.retention) == "keep-last=3,keep-daily=7,keep-weekly=4,keep-monthly=6"


def test_only_get_requests_each_with_the_token(fresh):
    probe(fresh)
    assert {method for method, _, _ in fresh.requests} == {"GET"}
    assert {auth for _, _, auth in fresh.requests} == {f"PVEAPIToken={TOKEN}"}
    paths = {path.removeprefix("/api2/json") for _, path, _ in fresh.requests}
    assert paths == set(RECORDED) - {"_comment"}


def test_without_a_token_nothing_is_asked_and_the_cluster_is_unknown(fresh, monkeypatch):
    monkeypatch.delenv("LABWARDEN_PVE_TOKEN", raising=False)
    [cluster] = probe(fresh, pve_token=None)
    assert fresh.requests == []
    assert cluster.error and "LABWARDEN_PVE_TOKEN" in cluster.error
    assert [d.level for d in cluster.diagnostics] == ["error"]
    assert judged([cluster]) == set()               # unknown is not "firewall off"


def test_a_refused_token_is_one_error_and_its_secret_is_never_shown(fresh):
    wrong = f"{TOKEN_ID}=0000dead-beef-4000-8000-000000000000"
    [cluster] = probe(fresh, pve_token=wrong)
    assert "refused the token (401)" in cluster.error
    assert "0000dead" not in repr(cluster) and SECRET not in repr(cluster)
    assert "0000dead" not in repr(ProbeOptions(pve_token=wrong))


def test_a_malformed_token_is_said_so_without_quoting_it(fresh):
    [cluster] = probe(fresh, pve_token=f"just-a-{SECRET}")
    assert "not `user@realm!tokenid=secret`" in cluster.error and SECRET not in cluster.error
    assert fresh.requests == []


def test_a_path_the_token_may_not_read_leaves_that_part_unknown(fresh):
    fresh.forbidden.add("/cluster/backup")
    facts = probe(fresh)
    assert [d.message.split(":")[0] for d in facts[0].diagnostics] == ["/cluster/backup"]
    guests = [f for f in facts if isinstance(f, ProxmoxGuest)]
    assert guests and not any(g.jobs_known for g in guests)
    assert "PVE020" not in {rule for rule, _ in judged(facts)}   # not "in no backup job"
    assert ("PVE010", "pve:pve1/103") in judged(facts)           # the rest is still read


def test_an_untrusted_certificate_is_an_error_that_says_how_to_trust_it(fresh):
    [cluster] = probe(fresh, ca_file=None)
    assert "--ca-file" in cluster.error and "pve-root-ca.pem" in cluster.error


def test_audit_of_the_api_from_the_command_line_never_prints_the_secret(fresh):
    env = {**os.environ, "LABWARDEN_PVE_TOKEN": TOKEN}
    for fmt in ("terminal", "json", "sarif", "markdown"):
        done = subprocess.run([sys.executable, "-m", "labwarden", "audit", fresh.target,
                               "--ca-file", fresh.ca_file, "--format", fmt, "--no-config"],
                              capture_output=True, text=True, timeout=120, env=env)
        assert done.returncode == 1, done.stderr                # HIGH findings
        assert SECRET not in done.stdout + done.stderr
        assert "PVE010" in done.stdout and "PVE020" in done.stdout
    env["LABWARDEN_PVE_TOKEN"] = f"{TOKEN_ID}=ffffffff-{SECRET[9:]}"
    done = subprocess.run([sys.executable, "-m", "labwarden", "audit", fresh.target,
                           "--ca-file", fresh.ca_file, "--no-config"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2 and "refused the token" in done.stdout + done.stderr
    assert SECRET[9:] not in done.stdout + done.stderr and "Traceback" not in done.stderr


def test_a_token_written_into_the_target_is_refused_without_quoting_it():
    from labwarden.sources.live.targets import TargetError

    with pytest.raises(TargetError) as refused:
        parse_target(f"pve://{TOKEN}@pve1.lab:8006")
    assert "LABWARDEN_PVE_TOKEN" in str(refused.value) and SECRET not in str(refused.value)
    done = subprocess.run([sys.executable, "-m", "labwarden", "audit",
                           f"pve://{TOKEN}@127.0.0.1:8006", "--no-config"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and SECRET not in done.stdout + done.stderr
