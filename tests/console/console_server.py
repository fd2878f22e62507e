"""A real uvicorn serving the console on 127.0.0.1 (a port the kernel picks), in a thread of
the test process, over a lab folder the test owns."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time

import httpx
import uvicorn

from labwarden.console.app import create_app
from labwarden.console.auth import Auth
from labwarden.console.lab import Lab, context_args


class ConsoleServer:
    def __init__(self, config: str, auth: Auth | None = None, today: str | None = None,
                 live: bool = False, ca_file: str | None = None, **app_options):
        self.lab = Lab(context_args(config, live=live, ca_file=ca_file,
                                    today=dt.date.fromisoformat(today) if today else None))
        self.lab.audit_now("start")
        assert not self.lab.status.error, self.lab.status.error
        self.auth = auth or Auth({}, None)
        app = create_app(self.lab, self.auth, **app_options)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0,
                                                    log_level="warning", access_log=False,
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> "ConsoleServer":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, follow_redirects=False)


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)
TODAY = "2026-11-27"          # the example lab's date in the checklist tests
