"""A real server the tests start: wait until it answers, fail with what it said if it dies,
and stop it afterwards."""

from __future__ import annotations

import contextlib
import subprocess
import time

import httpx
import pytest

STARTUP_S = 10.0


@contextlib.contextmanager
def serving(process: subprocess.Popen, ready, what: str, seconds: float = STARTUP_S):
    """Yield once `ready()` is true (while the server starts, a refused connection or a
    half-written answer counts as not ready). The process is stopped on the way out, killed
    if it does not stop."""
    try:
        deadline = time.monotonic() + seconds
        while not _ready(ready):
            if process.poll() is not None:
                said = process.stderr.read().decode(errors="replace")[-500:] \
                    if process.stderr else ""
                pytest.fail(f"{what} exited: {said}")
            if time.monotonic() > deadline:
                pytest.fail(f"{what} did not answer within {seconds:.0f} s")
            time.sleep(0.1)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _ready(ready) -> bool:
    try:
        return bool(ready())
    except (OSError, ValueError, httpx.HTTPError):   # refused, reset, not JSON yet…
        return False
