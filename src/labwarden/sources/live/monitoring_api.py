"""The `monitoring_api` probe: read Prometheus's and Alertmanager's HTTP APIs.

`prometheus://host:9090` reads `/api/v1/targets`, `/api/v1/rules` and
`/api/v1/alertmanagers`; `alertmanager://host:9093` reads `/api/v2/status`, whose
`config.original` is the configuration it runs (secrets masked by Alertmanager itself).
Plain HTTP unless the target is written `prometheus+https://` (then verified, with
`--ca-file` for a private CA). GET requests only, no redirect followed, each answer bounded
in size and time. The answer is a view (`PrometheusView`, `AlertmanagerView`), which the
audit's monitoring stage joins with the inventory; an API that does not answer is a view
with an error, and a diagnostic.
"""

from __future__ import annotations

import json

from labwarden.model import Diagnostic
from labwarden.sources.live.targets import Target
from labwarden.sources.monitoring.facts import AlertmanagerView, PrometheusView

ANSWER_LIMIT = 16 * 1024 * 1024      # a large Prometheus lists a few thousand targets


class _Failed(Exception):
    pass


def base_url(target: Target) -> str:
    web = "https" if target.raw.split("://", 1)[0].endswith("+https") else "http"
    host = f"[{target.host}]" if ":" in target.host else target.host
    prefix = target.path.rstrip("/")
    return f"{web}://{host}:{target.port}{prefix}"


async def _get(client, url: str, timeout: float) -> dict:
    import asyncio

    async def fetch() -> bytes:
        async with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise _Failed(f"{url} answered HTTP {response.status_code}")
            data = b""
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > ANSWER_LIMIT:
                    raise _Failed(f"{url}: answer over {ANSWER_LIMIT // 1048576} MiB")
            return data

    try:
        data = await asyncio.wait_for(fetch(), timeout)
    except _Failed:
        raise
    except asyncio.TimeoutError:
        raise _Failed(f"{url}: no complete answer within {timeout:g} s") from None
    except Exception as exc:  # noqa: BLE001 - connection refused, TLS, reset: said below
        raise _Failed(f"{url}: {type(exc).__name__}") from None
    try:
        answer = json.loads(data)
    except ValueError:
        raise _Failed(f"{url}: the answer is not JSON") from None
    if not isinstance(answer, dict):
        raise _Failed(f"{url}: unexpected answer")
    return answer


def _client(target: Target, options):
    import ssl

    import httpx

    verify: ssl.SSLContext | bool = False
    if base_url(target).startswith("https"):
        verify = ssl.create_default_context()
        if options.ca_file:
            from labwarden.sources._read import read_ca_file

            verify.load_verify_locations(cadata=read_ca_file(options.ca_file))
    return httpx.AsyncClient(verify=verify, follow_redirects=False, trust_env=False,
                             timeout=httpx.Timeout(float(options.timeout)),
                             headers={"Accept": "application/json"})


async def probe(target: Target, options):
    base = base_url(target)
    timeout = float(options.timeout)
    try:
        async with _client(target, options) as client:
            if target.scheme == "prometheus":
                from labwarden.sources.monitoring.prometheus import from_api

                answers = [(await _get(client, f"{base}/api/v1/{path}", timeout)).get("data")
                           or {} for path in ("targets", "rules", "alertmanagers")]
                return from_api(target.raw, *answers)
            from labwarden.sources.monitoring.alertmanager import from_api as manager

            return manager(target.raw, await _get(client, f"{base}/api/v2/status", timeout))
    except (_Failed, OSError) as exc:
        message = str(exc) if isinstance(exc, _Failed) else f"{base}: {type(exc).__name__}"
        kind = PrometheusView if target.scheme == "prometheus" else AlertmanagerView
        view = kind(where=target.raw, via="api", error=f"API not read: {message}",
                    location=target.location)
        view.diagnostics.append(Diagnostic("error", "unreachable", f"{target.scheme} API "
                                           f"not read: {message}", target.location))
        return view
