"""One HTTP/1.1 GET over asyncio streams: what the header probe needs, and nothing more.

The header probe used httpx, whose import (with httpcore, h11 and their email/cookie
parsers) cost a one-target `labwarden audit https://…` about a third of its wall time, and
whose connection pool took the name from the URL, so `--resolve` did not reach it. The probe
asks for one page, never follows a redirect, never keeps a connection and reads at most the
head of an HTML body: a request line, a header block and a bounded body are all it needs.

What it reports is what happened, in the probe's words (`WireFailure.kind`): `timeout`,
`refused`, `dns`, `connect`, `tls-verify`, `tls`, `reset` (closed before an answer),
`oversized` (a header block over MAX_HEAD bytes) and `protocol` (an answer that is not
HTTP/1.x). Nothing the server sent is echoed in a failure's detail.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl

MAX_HEAD = 64 * 1024             # status line and headers; browsers and nginx allow less
_STATUS = re.compile(rb"HTTP/(1\.[01]) (\d{3})(?: [^\r\n]*)?")


class WireFailure(Exception):
    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


class Response:
    __slots__ = ("status", "version", "headers", "peer", "_reader", "_writer", "_length",
                 "_chunked")

    def __init__(self, status: int, version: str, headers: list[tuple[str, str]],
                 reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.status, self.version, self.headers = status, version, headers
        self._reader, self._writer = reader, writer
        # The verified peer certificate as the ssl module decodes it (None: not verified)
        self.peer = writer.get_extra_info("peercert") or None
        lower = {k.lower(): v for k, v in headers}
        self._chunked = "chunked" in lower.get("transfer-encoding", "").lower()
        length = lower.get("content-length", "").strip()
        self._length = int(length) if length.isdigit() and len(length) < 19 else None

    async def read_body(self, limit: int) -> bytes:
        """Up to `limit` bytes of the body (chunked, sized or to the close)."""
        if self.status in (204, 304) or 100 <= self.status < 200:
            return b""
        reader, out = self._reader, bytearray()
        if self._chunked:
            while len(out) < limit:
                line = await reader.readline()
                size_text = line.split(b";", 1)[0].strip()
                if not size_text or len(size_text) > 16:
                    break
                try:
                    size = int(size_text, 16)
                except ValueError:
                    break
                if size == 0:
                    break
                out += await reader.readexactly(min(size, limit - len(out)))
                if len(out) >= limit:
                    break
                await reader.readexactly(2)              # the chunk's CRLF
            return bytes(out[:limit])
        want = limit if self._length is None else min(limit, self._length)
        while len(out) < want:
            chunk = await reader.read(want - len(out))
            if not chunk:
                break
            out += chunk
        return bytes(out)

    def close(self) -> None:
        # A reset, not a TLS close_notify exchange: nothing more is wanted from the server.
        self._writer.transport.abort()


def _parse_head(head: bytes) -> tuple[int, str, list[tuple[str, str]]]:
    lines = head.split(b"\r\n")
    found = _STATUS.fullmatch(lines[0])
    if found is None:
        raise WireFailure("protocol", "the answer is not HTTP/1.x")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and headers:       # obsolete line folding
            folded_name, folded = headers[-1]
            headers[-1] = (folded_name, f"{folded} {line.strip().decode('latin-1')}")
            continue
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise WireFailure("protocol", "a header line of the answer is malformed")
        headers.append((name.decode("latin-1"), value.strip().decode("latin-1")))
    return int(found.group(2)), f"HTTP/{found.group(1).decode()}", headers


def describe(exc: BaseException) -> tuple[str, str]:
    """(kind, detail) of a failed connection or request, nothing the server sent."""
    if isinstance(exc, WireFailure):
        return exc.kind, exc.detail
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "timeout", "no complete answer in time"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "tls-verify", exc.verify_message or "certificate verification failed"
    if isinstance(exc, ssl.SSLError):
        return "tls", (exc.reason or type(exc).__name__).lower().replace("_", " ")
    if isinstance(exc, ConnectionRefusedError):
        return "refused", "connection refused"
    if isinstance(exc, socket.gaierror):
        return "dns", "host name does not resolve"
    if isinstance(exc, (asyncio.IncompleteReadError, ConnectionResetError, EOFError)):
        return "reset", "connection closed before an answer"
    if isinstance(exc, OSError) and exc.strerror:
        return "connect", exc.strerror.lower()
    return "failed", type(exc).__name__


async def get(host: str, port: int, path: str, *, address: str | None = None,
              context: ssl.SSLContext | None = None, timeout: float,
              headers: list[tuple[str, str]] | None = None) -> Response:
    """Connect (to `address` for `host` when given, as curl --resolve) and send one GET;
    the status line and headers must arrive within `timeout` seconds in all. The caller
    closes the response."""
    writer = None

    async def exchange() -> Response:
        nonlocal writer
        server_name = None
        if context is not None:
            server_name = host.strip("[]")
        reader, writer = await asyncio.open_connection(
            address or host.strip("[]"), port, ssl=context, server_hostname=server_name,
            limit=MAX_HEAD, ssl_handshake_timeout=max(timeout, 0.1) if context else None)
        default = 443 if context is not None else 80
        name = f"[{host}]" if ":" in host and not host.startswith("[") else host
        authority = name if port == default else f"{name}:{port}"
        lines = [f"GET {path or '/'} HTTP/1.1", f"Host: {authority}",
                 *(f"{k}: {v}" for k, v in headers or ()), "Connection: close", "", ""]
        writer.write("\r\n".join(lines).encode("latin-1", errors="replace"))
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            raise WireFailure("oversized", f"the header block is larger than "
                                           f"{MAX_HEAD // 1024} KiB") from None
        except asyncio.IncompleteReadError as exc:
            if len(exc.partial) >= MAX_HEAD:
                raise WireFailure("oversized", f"the header block is larger than "
                                               f"{MAX_HEAD // 1024} KiB") from None
            if exc.partial and not exc.partial.startswith(b"HTTP/"):
                raise WireFailure("protocol", "the answer is not HTTP/1.x") from None
            raise
        status, version, found = _parse_head(head[:-4])
        return Response(status, version, found, reader, writer)

    try:
        return await asyncio.wait_for(exchange(), timeout)
    except BaseException as exc:
        if writer is not None:
            writer.transport.abort()
        if isinstance(exc, asyncio.CancelledError) and not isinstance(exc, TimeoutError):
            raise
        kind, detail = describe(exc)
        raise WireFailure(kind, detail) from None
