"""Re-audit on a schedule (`serve --every 6h`): one asyncio task for the server's lifetime,
which hands each audit to a worker thread (`Lab.audit_now`, one at a time) so pages keep
being served while the lab is probed."""

from __future__ import annotations

import asyncio
import contextlib
import re

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(text: str) -> float:
    """`90s`, `15m`, `6h`, `1d` → seconds; at least a minute (a lab is not a load test)."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*([smhd])\s*", text or "")
    if not match:
        raise ValueError(f"--every {text!r}: a number and a unit (s, m, h, d), e.g. 6h")
    seconds = int(match.group(1)) * UNITS[match.group(2)]
    if seconds < 60:
        raise ValueError(f"--every {text!r}: at least 60s")
    return float(seconds)


def lifespan(lab, every: float | None):
    @contextlib.asynccontextmanager
    async def run(app):
        task = asyncio.create_task(_every(lab, every)) if every else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    return run


async def _every(lab, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        await asyncio.to_thread(lab.audit_now, "scheduled", True)
