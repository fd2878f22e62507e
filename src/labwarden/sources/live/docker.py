"""The `docker` probe: the containers of a Docker Engine (`docker+unix://`, `docker+tcp://`,
`docker:`) or of a host that runs one (`local://`, `ssh://` with a key, `snapshot:`). The
collection lives in `labwarden.sources.docker.engine`; this module is where the live
collector finds probes."""

from __future__ import annotations


async def probe(target, options) -> list:
    from labwarden.sources.docker.engine import probe as collect

    return await collect(target, options)
