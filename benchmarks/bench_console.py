"""The web console under load, on loopback (run by hand, never by the test suite).

    .venv/bin/python benchmarks/bench_console.py                 # 50 services, 500 requests
    .venv/bin/python benchmarks/bench_console.py --services 50 --requests 500 --clients 20

1. Generates a lab of N services in a temporary directory (one Compose project each, on five
   hosts read from the example lab's host snapshot, one attestation file).
2. Server-side render time of the overview: the page function and its template, called in
   this process, cold (the evaluations computed from the audit) and warm (cached), median
   of --runs.
3. Starts the console under a real uvicorn on 127.0.0.1 (a kernel-chosen port) and sends
   --requests GETs over the pages (overview, walks, sign-off pages, findings, history) from
   --clients concurrent httpx.AsyncClient sessions; reports errors (anything but 200),
   throughput and latency percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "examples" / "homelab" / "hosts" / "docker-01"

COMPOSE = """services:
  app:
    image: ghcr.io/example/app{n}:1.{n}.0
    restart: unless-stopped
    ports: ["127.0.0.1:{port}:8080"]
    environment:
      TZ: Europe/Berlin
    read_only: {ro}
    mem_limit: 256m
  db:
    image: postgres:16.4
    restart: unless-stopped
    environment:
      POSTGRES_PASSWORD_FILE: /run/secrets/db
    volumes: ["./data:/var/lib/postgresql/data"]
"""


def make_lab(folder: Path, services: int) -> Path:
    hosts = [f"docker-{h:02d}" for h in range(1, 6)]
    for host in hosts:
        shutil.copytree(SNAPSHOT, folder / "hosts" / host)
    lines = ["version: 1", "policy:", "  fail_on: high", "hosts:"]
    lines += [f'  {h}: {{address: "snapshot:hosts/{h}", deployment_type: vm}}' for h in hosts]
    lines += ["services:"]
    for n in range(services):
        name = f"svc{n:02d}"
        project = folder / name
        project.mkdir()
        (project / "compose.yaml").write_text(COMPOSE.format(n=n, port=9000 + n,
                                                             ro="true" if n % 2 else "false"))
        lines += [f"  {name}:", "    deployment_type: docker", "    deployment_date: 2026-11-01",
                  "    owner: jdoe", "    criticality: medium", "    source: third_party",
                  f"    compose: {name}", f"    host: {hosts[n % len(hosts)]}"]
    (folder / "labwarden.yaml").write_text("\n".join(lines) + "\n")
    items = "\n".join(f'    "{i}": {{by: jdoe, date: 2026-11-20, note: lab policy}}'
                      for i in ("1.1.6", "1.2.2", "2.1.6", "3.4.6", "8.1.2"))
    (folder / "attestations.yaml").write_text(f"lab:\n  items:\n{items}\n")
    return folder / "labwarden.yaml"


def render_overview(lab, env) -> float:
    from starlette.requests import Request

    from labwarden.console import pages

    request = Request({"type": "http", "method": "GET", "path": "/", "query_string": b"",
                       "headers": [], "path_params": {}})
    started = time.perf_counter()
    template, values = pages.overview(lab, request)
    env.get_template(template).render(request_path="/", session=None, flash=None,
                                      auth_required=False, csrf="", user=None,
                                      audit=lab.status, **values)
    return time.perf_counter() - started


async def load(url: str, paths: list[str], requests: int, clients: int) -> dict:
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    queue: asyncio.Queue = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(paths[i % len(paths)])

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=120) as session:
            while True:
                try:
                    path = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                started = time.perf_counter()
                try:
                    response = await session.get(path)
                    if response.status_code != 200:
                        errors.append(f"{path}: {response.status_code}")
                except httpx.HTTPError as exc:
                    errors.append(f"{path}: {exc!r}")
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    wall = time.perf_counter() - started
    latencies.sort()
    return {"wall": wall, "errors": errors, "count": len(latencies),
            "p50": latencies[len(latencies) // 2], "p95": latencies[int(len(latencies) * .95)],
            "max": latencies[-1]}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    import uvicorn

    from labwarden.console import pages
    from labwarden.console.app import HERE, create_app
    from labwarden.console.auth import Auth
    from labwarden.console.lab import Lab, context_args

    with tempfile.TemporaryDirectory() as temporary:
        config = make_lab(Path(temporary), options.services)
        lab = Lab(context_args(str(config)))
        started = time.perf_counter()
        lab.audit_now("start")
        audit_s = time.perf_counter() - started
        assert not lab.status.error, lab.status.error
        env = pages.environment(os.path.join(HERE, "templates"))
        cold = []
        for _ in range(options.runs):
            lab._cache_key = None                       # drop the cached evaluations
            cold.append(render_overview(lab, env))
        warm = [render_overview(lab, env) for _ in range(options.runs)]
        print(f"lab: {options.services} services; audit {audit_s:.2f} s")
        print(f"overview render, cold (evaluations computed): median "
              f"{statistics.median(cold) * 1000:.0f} ms (min {min(cold) * 1000:.0f}, "
              f"max {max(cold) * 1000:.0f})")
        print(f"overview render, warm (evaluations cached):   median "
              f"{statistics.median(warm) * 1000:.1f} ms (min {min(warm) * 1000:.1f}, "
              f"max {max(warm) * 1000:.1f})")

        from labwarden.commands.serve import metrics_routes

        app = create_app(lab, Auth({}, None), extra_routes=metrics_routes(lab.args))
        server = uvicorn.Server(uvicorn.Config(app,
                                               host="127.0.0.1", port=0, log_level="warning",
                                               access_log=False))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        names = [f"svc{n:02d}" for n in range(options.services)]
        # /metrics as `labwarden serve` mounts it: Prometheus scrapes the console too.
        paths = ["/", "/findings", "/history", "/audit", "/metrics", "/metrics"]
        paths += [f"/service/{n}" for n in names[:10]]
        paths += [f"/service/{n}/signoff" for n in names[:5]]
        paths += [f"/service/{n}?status=OPEN" for n in names[10:15]]
        result = asyncio.run(load(url, paths, options.requests, options.clients))
        server.should_exit = True
        thread.join(timeout=30)
    print(f"load: {result['count']} GETs over {len(paths)} pages from {options.clients} "
          f"clients in {result['wall']:.2f} s ({result['count'] / result['wall']:.0f}/s); "
          f"latency p50 {result['p50'] * 1000:.0f} ms, p95 {result['p95'] * 1000:.0f} ms, "
          f"max {result['max'] * 1000:.0f} ms; errors {len(result['errors'])}")
    for error in result["errors"][:10]:
        print("  ", error)
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
