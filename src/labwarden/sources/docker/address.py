"""Where a Docker Engine's API is: `docker+unix:///path`, `docker+tcp://host:port`, or
`docker:` for what DOCKER_HOST names. Imports nothing of labwarden: the inventory checks a
host's `docker:` address with it, the target parser parses one."""

from __future__ import annotations

import os
from collections.abc import Mapping

DEFAULT_SOCKET = "/var/run/docker.sock"


def engine_url(text: str, environ: dict[str, str] | None = None) -> str:
    """The Engine API a `docker…` target names, as `unix:///path` or `tcp://host:port`.
    `docker:` / `docker://` read `DOCKER_HOST` the way the docker CLI does (default: the
    local socket); ValueError for what cannot be read here."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    if text.rstrip("/") == "docker:":
        url = env.get("DOCKER_HOST") or f"unix://{DEFAULT_SOCKET}"
        where = f"{text} (DOCKER_HOST={url})" if env.get("DOCKER_HOST") else text
    elif text.startswith("docker+"):
        url, where = text[len("docker+"):], text
    else:
        raise ValueError(f"{text}: not a Docker Engine address")
    if url.startswith("unix://"):
        path = url[len("unix://"):]
        if not path.startswith("/"):
            raise ValueError(f"{where}: a unix socket needs an absolute path "
                             "(docker+unix:///run/docker.sock)")
        return f"unix://{path}"
    if url.startswith("tcp://"):
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"{where}: invalid port") from None
        if not parts.hostname:
            raise ValueError(f"{where}: no host")
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return f"tcp://{host}:{port or 2375}"
    if url.startswith("ssh://"):
        raise ValueError(f"{where}: an engine over SSH is read through the host: audit "
                         f"{url} with --ssh-key (docker runs there)")
    raise ValueError(f"{where}: use docker+unix:///path/docker.sock or docker+tcp://host:port")


__all__ = ["DEFAULT_SOCKET", "engine_url"]
