"""The header probe's own HTTP/1.1 client against servers that misbehave in specific ways:
each failure is named for what happened (issue 15), and a sound answer in any framing
(sized, chunked, to the close) is read."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from labwarden.sources.live.collect import ProbeOptions
from labwarden.sources.live.http import probe
from labwarden.sources.live.targets import parse_target

HTML = b"<html><head><meta http-equiv='Content-Security-Policy' content=\"default-src 'self'\"></head></html>"

ANSWERS = {
    "oversized": b"HTTP/1.1 200 OK\r\n" + b"".join(
        b"X-Filler-%d: %s\r\n" % (i, b"a" * 1000) for i in range(80)) + b"\r\n",
    "not-http": b"SSH-2.0-OpenSSH_9.2p1\r\n\r\n",
    "closed": b"",
    "chunked": (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n"
                b"X-Frame-Options: DENY\r\n\r\n" + b"%x\r\n" % len(HTML) + HTML + b"\r\n0\r\n\r\n"),
    "to-close": (b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nX-Frame-Options: DENY\r\n\r\n"
                 + HTML),
}


class OneShot:
    """Answers every connection with ANSWERS[mode] after reading the request, then closes."""

    def __init__(self, mode: str):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.answer = ANSWERS[mode]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                conn.sendall(self.answer)

    def close(self):
        self.sock.close()


@pytest.fixture
def server(request):
    one = OneShot(request.param)
    yield one
    one.close()


def fetch(port: int):
    return asyncio.run(probe(parse_target(f"http://127.0.0.1:{port}/"),
                             ProbeOptions(timeout=5.0)))


@pytest.mark.parametrize("server", ["oversized"], indirect=True)
def test_an_oversized_header_block_is_called_oversized(server):
    fact = fetch(server.port)
    assert fact.error == "oversized: the header block is larger than 64 KiB"
    message = fact.diagnostics[0].message
    assert "larger than 64 KiB" in message and "not HTTP" not in message


@pytest.mark.parametrize("server", ["not-http"], indirect=True)
def test_a_service_that_is_not_http_is_called_so(server):
    fact = fetch(server.port)
    assert fact.error == "protocol: the answer is not HTTP/1.x"
    assert "OpenSSH" not in fact.diagnostics[0].message        # nothing the server sent


@pytest.mark.parametrize("server", ["closed"], indirect=True)
def test_a_connection_closed_without_an_answer(server):
    assert fetch(server.port).error == "reset: connection closed before an answer"


@pytest.mark.parametrize("server", ["chunked", "to-close"], indirect=True)
def test_chunked_and_read_to_close_bodies_are_read(server):
    fact = fetch(server.port)
    assert fact.error is None and fact.status == 200
    assert fact.first("x-frame-options") == "DENY"
    assert fact.html and ("content-security-policy", "default-src 'self'") in fact.meta
