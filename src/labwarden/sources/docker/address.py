"""Where a Docker Engine's API is: `docker+unix:///path`, `docker+tcp://host:port`, or
`docker:` for what DOCKER_HOST names; and, on TCP, how to speak TLS to it. Imports nothing of
labwarden: the inventory checks a host's `docker:` address with it, the target parser parses
one."""

from __future__ import annotations

import os
from collections.abc import Mapping

DEFAULT_SOCKET = "/var/run/docker.sock"
TLS_PORT = 2376                    # Docker's port for the API over TLS (2375: plain)
CERT_FILES = ("ca.pem", "cert.pem", "key.pem")     # what DOCKER_CERT_PATH holds


class EngineTls:
    """TLS to an engine on TCP, the docker CLI's way: the folder of ca.pem (the engine's
    CA), cert.pem and key.pem (this client's certificate); `verify`: check the engine's
    certificate against ca.pem (DOCKER_TLS_VERIFY), else encrypt only (DOCKER_TLS)."""

    __slots__ = ("cert_path", "verify")

    def __init__(self, cert_path: str, verify: bool = True):
        self.cert_path = cert_path
        self.verify = verify

    def file(self, name: str) -> str | None:
        path = os.path.join(self.cert_path, name)
        return path if os.path.isfile(path) else None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EngineTls) and \
            (self.cert_path, self.verify) == (other.cert_path, other.verify)

    def __repr__(self) -> str:
        return f"EngineTls({self.cert_path!r}, verify={self.verify})"


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


def engine_tls(text: str, environ: Mapping[str, str] | None = None) -> EngineTls | None:
    """How to speak TLS to the engine a `docker…` target names; None: plain HTTP (a unix
    socket, or TCP that asks for no TLS).

    As the docker CLI: `DOCKER_TLS_VERIFY` (any value but empty) verifies the engine's
    certificate, `DOCKER_TLS` only encrypts, and `DOCKER_CERT_PATH` (default `~/.docker`)
    holds ca.pem, cert.pem and key.pem. Besides: port 2376, Docker's TLS port, is TLS and
    verified; and `?certs=DIR` after a `docker+tcp://` address names that engine's folder
    (one per host in an inventory; TLS, verified), `?tls=verify|encrypt|off` its mode."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    url = engine_url(text, dict(env))
    if not url.startswith("tcp://"):
        return None
    from urllib.parse import parse_qs, urlsplit

    query = parse_qs(urlsplit(text[len("docker+"):]).query) if text.startswith("docker+") \
        else {}
    mode = (query.get("tls") or [""])[0].lower()
    if mode not in ("", "verify", "encrypt", "off"):
        raise ValueError(f"{text}: tls= is verify, encrypt or off, not {mode!r}")
    if mode == "off":
        return None
    verify = mode == "verify" or (mode == "" and bool(env.get("DOCKER_TLS_VERIFY")))
    wanted = mode or verify or bool(env.get("DOCKER_TLS")) or "certs" in query or \
        url.rpartition(":")[2] == str(TLS_PORT)
    if not wanted:
        return None
    if mode == "" and not env.get("DOCKER_TLS"):
        verify = True                  # 2376 or DOCKER_TLS_VERIFY: the CLI's --tlsverify
    folder = (query.get("certs") or [""])[0] or env.get("DOCKER_CERT_PATH") or \
        os.path.join(os.path.expanduser("~"), ".docker")
    return EngineTls(folder, verify)


__all__ = ["CERT_FILES", "DEFAULT_SOCKET", "TLS_PORT", "EngineTls", "engine_tls",
           "engine_url"]
