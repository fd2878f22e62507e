"""The TLS probe's diagnostics name what happened (issue 15): a server that accepts the
connection and then drips its answer timed out during the handshake; it did not refuse."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

from labwarden.sources.live import tls
from labwarden.sources.live.collect import ProbeOptions
from labwarden.sources.live.targets import parse_target

# The start of a ServerHello record, one byte at a time: never a complete answer in time.
DRIP = b"\x16\x03\x03\x00\x50\x02\x00\x00\x4c\x03\x03"


class DripTls:
    def __init__(self, interval: float = 0.4):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.interval = interval
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn):
        with conn:
            try:
                conn.recv(4096)
                for byte in DRIP:
                    if self.closed.is_set():
                        return
                    conn.sendall(bytes([byte]))
                    time.sleep(self.interval)
            except OSError:
                pass

    def close(self):
        self.closed.set()
        self.sock.close()


def test_a_server_that_drips_timed_out_during_the_handshake():
    server = DripTls()
    try:
        fact = asyncio.run(tls.probe(parse_target(f"https://127.0.0.1:{server.port}"),
                                     ProbeOptions(timeout=1.0, deadline=5.0)))
    finally:
        server.close()
    assert fact.protocols == []
    [diagnostic] = [d for d in fact.diagnostics if d.level == "error"]
    assert diagnostic.code == "handshake-timeout"
    assert "timed out during the handshake" in diagnostic.message
    assert "TLSv1.2" in diagnostic.message and "TLSv1.3" in diagnostic.message
    assert "refused" not in diagnostic.message
