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

import asyncio
import shutil

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
    openssl = shutil.which("openssl")
    if openssl is None:
        return Renegotiation(None, "openssl is not installed (Debian package openssl)")
    command = [openssl, "s_client", "-connect", _connect_argument(address, port), "-msg",
               "-no_tls1_3", "-legacy_renegotiation",
               *(["-servername", sni] if sni else ["-noservername"])]
    try:
        proc = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        return Renegotiation(None, f"openssl could not run: {exc.strerror or exc}")
    finished = 0
    try:
        assert proc.stdout is not None and proc.stdin is not None
        loop = asyncio.get_running_loop()
        # 1. the first handshake: s_client prints the session once it is complete
        end = loop.time() + timeout
        while True:
            line = await _line(proc.stdout, end - loop.time())
            if line is None:
                return Renegotiation(None, "no TLS 1.2 handshake completed in time")
            if not line:
                return Renegotiation(None, "no handshake at TLS 1.2 or older (nothing to "
                                           "renegotiate)")
            if b"<<<" in line and line.rstrip().endswith(b"Finished"):
                finished += 1
            if b"Verify return code" in line and finished:
                break
        # 2. renegotiate, and see whether the server finishes a second handshake
        proc.stdin.write(b"R\n")
        await proc.stdin.drain()
        end = loop.time() + min(timeout, RENEGOTIATION_WAIT)
        while True:
            line = await _line(proc.stdout, end - loop.time())
            if line is None:
                return Renegotiation(None, "no answer to the renegotiation in time")
            if not line or b"no renegotiation" in line or (b"alert" in line.lower() \
                                                             and b"<<<" in line):
                return Renegotiation(False)
            if b"<<<" in line and line.rstrip().endswith(b"Finished"):
                return Renegotiation(True)
    except (OSError, ValueError) as exc:   # ValueError: a line over the stream's limit
        return Renegotiation(None, f"openssl s_client failed: {type(exc).__name__}")
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def _line(stream: asyncio.StreamReader, left: float) -> bytes | None:
    """The next line; b"" at the end; None when `left` seconds pass first."""
    if left <= 0:
        return None
    try:
        return await asyncio.wait_for(stream.readline(), left)
    except TimeoutError:
        return None
