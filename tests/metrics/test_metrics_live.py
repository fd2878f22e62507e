"""With --live, a service's certificate expiry comes from the TLS handshake: a real TLS
server on loopback (Python's ssl, a certificate from a test CA that expires in 20 days),
named in the service's `urls:`, probed by the evaluation the metrics run."""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from labwarden.metrics.collect import collect
from labwarden.metrics.exposition import LabCollector

from .test_metrics_collector import COMPOSE


def _certificates(directory: Path, expires: dt.datetime) -> ssl.SSLContext:
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "labwarden metrics test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=1))
          .not_valid_after(now + dt.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress

    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(expires)
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(ca_key, hashes.SHA256()))
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (directory / "leaf.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "leaf.pem", directory / "leaf.key")
    return context


class _Answer(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server interface
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _TlsServer(ThreadingHTTPServer):
    """Handshakes in each request's thread: a probe's odd ClientHello must not stall the
    accepting thread."""

    daemon_threads = True

    def __init__(self, context: ssl.SSLContext):
        super().__init__(("127.0.0.1", 0), _Answer)
        self.context = context

    def finish_request(self, request, client_address):
        request.settimeout(5)
        try:
            wrapped = self.context.wrap_socket(request, server_side=True)
        except (OSError, ValueError):
            return
        super().finish_request(wrapped, client_address)

    def handle_error(self, request, client_address):
        pass


@pytest.fixture
def tls_server(tmp_path):
    expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=20)).replace(microsecond=0)
    server = _TlsServer(_certificates(tmp_path, expires))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], tmp_path / "ca.pem", expires
    server.shutdown()
    server.server_close()


def test_live_certificate_expiry_is_the_handshakes_leaf(tmp_path, tls_server) -> None:
    port, ca_file, expires = tls_server
    lab = tmp_path / "lab"
    (lab / "web").mkdir(parents=True)
    (lab / "web" / "compose.yaml").write_text(COMPOSE)
    (lab / "labwarden.yaml").write_text(
        f'version: 1\nservices:\n  web: {{compose: web, urls: ["https://127.0.0.1:{port}"]}}\n')

    offline = collect(str(lab))
    assert offline.services["web"].certificate_expiry is None     # no handshake, unknown
    # As the exporter runs it: in the collector's evaluation thread (asyncio in a thread).
    collector = LabCollector(str(lab), live=True, ca_file=str(ca_file), timeout=5)
    state = collector.refresh_if_stale(wait=True).services["web"]
    assert state.certificate_expiry == expires.timestamp()
    assert state.certificates_seen == 1
