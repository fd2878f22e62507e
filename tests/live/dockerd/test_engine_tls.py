"""The Docker Engine API over TLS, against real dockerds on loopback: one with mutual TLS
(`--tlsverify`), one that encrypts but asks no client certificate (`--tls`).

DKR040 must tell them apart: the first is what the rule's fix asks for, the second lets
anyone who reaches the port drive the engine.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from labwarden.sources.docker.address import engine_tls
from labwarden.sources.docker.fact import DockerEngine
from labwarden.sources.live.collect import ProbeOptions
from labwarden.sources.live.targets import TargetError, parse_target

from .conftest import dockerd


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _issue(folder: Path, stem: str, name: str, usage, ca_name, ca_key, sans=()) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .issuer_name(ca_name).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5))
               .not_valid_after(now + dt.timedelta(days=2))
               .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    (folder / f"{stem}cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / f"{stem}key.pem").write_bytes(_pem_key(key))


def _ca(folder: Path, name: str):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return subject, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    """server/: the engine's files; client/: ca.pem, cert.pem, key.pem as DOCKER_CERT_PATH
    holds them; ca-only/: no client certificate; stranger/: another CA's ca.pem."""
    root = tmp_path_factory.mktemp("docker-pki")
    ca_name, ca_key = _ca(root / "server", "lab docker CA")
    _issue(root / "server", "server-", "127.0.0.1", ExtendedKeyUsageOID.SERVER_AUTH,
           ca_name, ca_key, [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    client = root / "client"
    client.mkdir()
    shutil.copy(root / "server" / "ca.pem", client / "ca.pem")
    _issue(client, "", "labwarden", ExtendedKeyUsageOID.CLIENT_AUTH, ca_name, ca_key)
    (root / "ca-only").mkdir()
    shutil.copy(root / "server" / "ca.pem", root / "ca-only" / "ca.pem")
    _ca(root / "stranger", "someone else's CA")
    return {"root": root, "server": root / "server", "client": client,
            "ca-only": root / "ca-only", "stranger": root / "stranger"}


def _tls_daemon(pki, mode: str):
    port = _free_port()
    server = pki["server"]
    # `--tls` alone still requires client certificates (dockerd reads an unset tlsverify
    # as true): the encrypt-only daemon is `--tls --tlsverify=false`.
    flags = [mode] if mode == "--tlsverify" else [mode, "--tlsverify=false"]
    return dockerd(*flags, "--tlscacert", str(server / "ca.pem"),
                   "--tlscert", str(server / "server-cert.pem"),
                   "--tlskey", str(server / "server-key.pem"),
                   "-H", f"tcp://127.0.0.1:{port}"), port


@pytest.fixture(scope="module")
def mutual(pki):
    daemon, port = _tls_daemon(pki, "--tlsverify")
    with daemon:
        yield port


@pytest.fixture(scope="module")
def encrypt_only(pki):
    daemon, port = _tls_daemon(pki, "--tls")
    with daemon:
        yield port


def _probe(text: str) -> list:
    from labwarden.sources.live.docker import probe

    return asyncio.run(probe(parse_target(text), ProbeOptions(timeout=5)))


def _engine(facts: list) -> DockerEngine:
    [engine] = [f for f in facts if isinstance(f, DockerEngine)]
    return engine


def _audit(target: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "labwarden", "audit", target, "--format",
                           "json", "--no-config"], capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def test_mutual_tls_is_read_with_the_client_certificate_and_not_reported(pki, mutual):
    target = f"docker+tcp://127.0.0.1:{mutual}?certs={pki['client']}"
    engine = _engine(_probe(target))
    assert engine.error is None and engine.version         # /info answered over TLS
    assert engine.tls == "mutual"                           # refused without a certificate
    assert engine.address == f"tcp://127.0.0.1:{mutual}"
    report = _audit(target)
    assert not [f for f in report["findings"] if f["rule_id"] == "DKR040"]


def test_an_engine_that_asks_no_client_certificate_is_reported(pki, encrypt_only):
    target = f"docker+tcp://127.0.0.1:{encrypt_only}?certs={pki['client']}"
    assert _engine(_probe(target)).tls == "any-client"
    report = _audit(target)
    [finding] = [f for f in report["findings"] if f["rule_id"] == "DKR040"]
    assert "without asking for a client certificate" in finding["message"]
    assert finding["severity"] == "HIGH"                    # loopback: local users only
    assert "--tlsverify" in finding["fix"]
    key = (pki["client"] / "key.pem").read_text()
    body = key.splitlines()[1]
    assert body not in json.dumps(report)


def test_without_a_client_certificate_the_diagnostic_says_what_to_add(pki, mutual):
    engine = _engine(_probe(f"docker+tcp://127.0.0.1:{mutual}?certs={pki['ca-only']}"))
    assert engine.error is not None
    assert "client certificate" in engine.error and str(pki["ca-only"]) in engine.error
    assert not engine.belongs_to(object())


def test_an_engine_certificate_from_another_ca_is_not_trusted(pki, mutual):
    engine = _engine(_probe(f"docker+tcp://127.0.0.1:{mutual}?certs={pki['stranger']}"))
    assert engine.error is not None and engine.version is None
    assert "certificate is not trusted" in engine.error and "client certificate" not in \
        engine.error
    assert engine.tls == ""                                 # nothing was learnt


def test_tls_settings_follow_the_docker_cli():
    assert engine_tls("docker+tcp://h:2375", {}) is None            # plain, as the CLI
    assert engine_tls("docker+unix:///run/docker.sock", {"DOCKER_TLS_VERIFY": "1"}) is None
    on_2376 = engine_tls("docker+tcp://h:2376", {"DOCKER_CERT_PATH": "/certs"})
    assert (on_2376.cert_path, on_2376.verify) == ("/certs", True)
    from_env = engine_tls("docker:", {"DOCKER_HOST": "tcp://h:9000", "DOCKER_TLS": "1"})
    assert from_env is not None and not from_env.verify             # encrypt only
    named = engine_tls("docker+tcp://h:9000?tls=verify&certs=/lab/nas", {})
    assert (named.cert_path, named.verify) == ("/lab/nas", True)
    assert engine_tls("docker+tcp://h:2376?tls=off", {}) is None
    with pytest.raises(TargetError, match="tls= is verify, encrypt or off"):
        parse_target("docker+tcp://h:2376?tls=maybe")
