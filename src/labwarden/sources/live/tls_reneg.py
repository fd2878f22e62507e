"""Whether a server accepts a renegotiation that its client starts (TLS 1.2 and older).

Client-initiated renegotiation costs the server a full handshake (a private-key operation)
for each request of a client that paid almost nothing: one connection can keep a server's
CPU busy (the THC-SSL-DOS attack). sslyze reports it; testssl.sh too, and the way it does is
the one used here: `openssl s_client`, whose `R` command renegotiates an established
session. Python's ssl module has no renegotiation call, and finishing a TLS 1.2 handshake
with our own record layer would import `cryptography` into every TLS probe.

The answer is read from s_client's `-msg` trace: a second server Finished after `R` is a
renegotiation that completed (accepted); an alert, `no renegotiation`, or the connection
closing is a refusal. No handshake at TLS 1.2 or older (a TLS 1.3-only server) means there is
nothing to renegotiate: not applicable. A missing `openssl` binary, or no answer in time,
is "not checked", with the reason.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import threading
import time

# After `R`, a server that renegotiates answers within one round trip and a signature.
RENEGOTIATION_WAIT = 2.0


class Renegotiation:
    __slots__ = ("accepted", "note")

    def __init__(self, accepted: bool | None, note: str = ""):
        self.accepted = accepted     # True accepted, False refused, None not checked / n.a.
        self.note = note             # why it is None


def _connect_argument(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


async def client_renegotiation(address: str, port: int, sni: str | None,
                               timeout: float) -> Renegotiation:
    """Run s_client on a worker thread: the exchange is a few lines of a child process's
    output, and asyncio's own subprocess transport (Python 3.11) can reap the child before
    its watcher thread does, which prints "Unknown child process pid" on the user's
    terminal. A cancelled probe stops the thread at its next read."""
    import asyncio

    stop = threading.Event()
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(None, _renegotiate, address, port, sni, timeout,
                                          stop)
    finally:
        stop.set()


def _renegotiate(address: str, port: int, sni: str | None, timeout: float,
                 stop: threading.Event) -> Renegotiation:
    openssl = shutil.which("openssl")
    if openssl is None:
        return Renegotiation(None, "openssl is not installed (Debian package openssl)")
    # -no-CAfile/-no-CApath (OpenSSL 1.1 and 3): s_client verifies nothing here, and
    # loading the default trust store (the whole bundle when SSL_CERT_FILE names one) was
    # most of its CPU time
    command = [openssl, "s_client", "-connect", _connect_argument(address, port), "-msg",
               "-no_tls1_3", "-legacy_renegotiation", "-no-CAfile", "-no-CApath",
               *(["-servername", sni] if sni else ["-noservername"])]
    try:
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        return Renegotiation(None, f"openssl could not run: {exc.strerror or exc}")
    assert proc.stdout is not None and proc.stdin is not None
    lines = _Lines(proc.stdout, stop)
    try:
        # 1. the first handshake: s_client prints the session once it is complete
        end = time.monotonic() + timeout
        finished = 0
        while True:
            line = lines.next(end)
            if line is None:
                return Renegotiation(None, "no TLS 1.2 handshake completed in time")
            if not line:
                return Renegotiation(None, "no handshake at TLS 1.2 or older (nothing to "
                                           "renegotiate)")
            if b"nknown option" in line or b"usage: s_client" in line.lower():
                return Renegotiation(None, "this openssl's s_client lacks an option the "
                                           "check needs")
            if b"<<<" in line and line.rstrip().endswith(b"Finished"):
                finished += 1
            if b"Verify return code" in line and finished:
                break
        # 2. renegotiate, and see whether the server finishes a second handshake
        proc.stdin.write(b"R\n")
        proc.stdin.flush()
        end = time.monotonic() + min(timeout, RENEGOTIATION_WAIT)
        while True:
            line = lines.next(end)
            if line is None:
                return Renegotiation(None, "no answer to the renegotiation in time")
            if not line or b"no renegotiation" in line or (b"alert" in line.lower()
                                                             and b"<<<" in line):
                return Renegotiation(False)
            if b"<<<" in line and line.rstrip().endswith(b"Finished"):
                return Renegotiation(True)
    except OSError as exc:            # s_client gone before our R: a broken pipe
        return Renegotiation(False if isinstance(exc, BrokenPipeError) else None,
                             "" if isinstance(exc, BrokenPipeError)
                             else f"openssl s_client failed: {type(exc).__name__}")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()


class _Lines:
    """Lines of a pipe, each read within a deadline (select), stopping when told."""

    def __init__(self, stream, stop: threading.Event):
        self.fd, self.stop, self.buffer = stream.fileno(), stop, b""
        os.set_blocking(self.fd, False)

    def next(self, end: float) -> bytes | None:
        """The next line; b"" at the end of the output; None when `end` passes first."""
        while b"\n" not in self.buffer:
            left = end - time.monotonic()
            if left <= 0 or self.stop.is_set():
                return None
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.05))
            if not ready:
                continue
            chunk = os.read(self.fd, 65536)
            if not chunk:
                rest, self.buffer = self.buffer, b""
                return rest
            self.buffer += chunk
            if len(self.buffer) > 1 << 20:          # s_client's trace is a few KiB
                return b""
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line + b"\n"
