"""ASGI middleware in front of every route: security headers, a request body limit and, on a
loopback bind, a Host check.

- The Content-Security-Policy is the HTML report's idea (`default-src 'none'`) made stricter
  for a page that has forms: scripts and styles only from the console itself (no inline
  code at all), forms only to itself, no framing, no base URI.
- A body larger than MAX_BODY_BYTES is refused with 413, by Content-Length before reading
  and by counting the chunks of one without.
- Bound to loopback, only a loopback Host header is served: a DNS-rebinding page on another
  site cannot make the browser talk to the console under its own name.
"""

from __future__ import annotations

MAX_BODY_BYTES = 64 * 1024

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


class Guard:
    def __init__(self, app, loopback_only: bool, max_body: int = MAX_BODY_BYTES,
                 https: bool = False):
        self.app = app
        self.loopback_only = loopback_only
        self.max_body = max_body
        self.https = https

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        if self.loopback_only and not _loopback_host(headers.get(b"host", b"")):
            return await _plain(send, 421, "this console answers to a loopback name only")
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_body
            except ValueError:
                return await _plain(send, 400, "bad Content-Length")
            if too_big:
                return await _plain(send, 413, f"request body over {self.max_body} bytes")
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge()
            return message

        async def secured_send(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + HEADERS + (
                    [(b"strict-transport-security", b"max-age=31536000")] if self.https
                    else [])
            await send(message)

        try:
            await self.app(scope, limited_receive, secured_send)
        except BodyTooLarge:
            await _plain(send, 413, f"request body over {self.max_body} bytes")


class BodyTooLarge(Exception):
    pass


def _loopback_host(host: bytes) -> bool:
    text = host.decode("latin-1").strip().lower()
    if text.startswith("["):
        name = text[:text.find("]") + 1]
    else:
        name = text.rsplit(":", 1)[0] if text.count(":") == 1 else text
    return name in LOOPBACK_HOSTS


async def _plain(send, status: int, text: str) -> None:
    body = (text + "\n").encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())] + HEADERS})
    await send({"type": "http.response.body", "body": body})
