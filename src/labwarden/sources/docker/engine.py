"""Read every container of a Docker Engine: `[DockerEngine, Container, …]`, never raising.

Three ways in, one result:

- **The Engine API** (`docker+unix:///run/docker.sock`, `docker+tcp://host:2375`, or
  `docker:` for what `DOCKER_HOST` names, else `/var/run/docker.sock`): `GET /_ping`,
  `/info`, `/containers/json?all=1`, then `/containers/{id}/json` and `/images/{id}/json`.
  Only GET requests exist in this client: it cannot start, stop or change anything.
- **The host transport** (`local://`, `ssh://` with a key): `docker ps -a -q --no-trunc`,
  `docker inspect --type container ID…`, `docker image inspect ID…`, three read-only commands
  of the transport's allow-list. A host without `docker` is no error (it does not run
  Docker); a `docker` that cannot reach its engine is a warning (the host audit goes on).
- **A snapshot** (`snapshot:DIR`): `DIR/docker-inspect.json` (`docker inspect` of every
  container) and, optionally, `DIR/docker-image-inspect.json` (their images). No such file:
  Docker was not collected on that host.

The client is plain httpx over the unix socket (`httpx.AsyncHTTPTransport(uds=…)`), not the
`docker` package: httpx is already a dependency and async like every other probe, while
`docker` brings requests, urllib3 and a second HTTP stack, blocks (it would need a thread per
engine), and costs its import for four GET endpoints. Every call is bounded in time
(`options.timeout`) and size; a dead socket, a daemon that does not answer and a document
that is not the engine's are each a diagnostic at the target, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from typing import Any

from labwarden.model import Diagnostic, Location
from labwarden.sources.docker.fact import Container, DockerEngine, parse_container

MAX_RESPONSE = 32 << 20            # one API answer or snapshot file
MAX_CONTAINERS = 2000
INSPECT_CONCURRENCY = 8
INSPECT_BATCH = 100                # IDs per `docker inspect` command line
SNAPSHOT_CONTAINERS = "docker-inspect.json"
SNAPSHOT_IMAGES = "docker-image-inspect.json"
_ID = re.compile(r"^[0-9a-f]{64}$")
_IMAGE_ID = re.compile(r"^sha256:[0-9a-f]{64}$")


UNTRUSTED = "the engine's certificate is not trusted"


class EngineUnavailable(Exception):
    """The engine could not be read: the message says why, in a few words."""


# --- the Engine API ------------------------------------------------------------------------

class EngineApi:
    """A read-only Engine API client: GET only, each call bounded by `timeout` seconds and
    MAX_RESPONSE bytes."""

    def __init__(self, url: str, timeout: float, tls=None, client_cert: bool = True):
        import httpx

        self.url = url
        self.timeout = timeout
        if url.startswith("unix://"):
            transport = httpx.AsyncHTTPTransport(uds=url[len("unix://"):], retries=0)
            base = "http://docker"
        elif tls is None:
            transport = httpx.AsyncHTTPTransport(retries=0)
            base = "http://" + url[len("tcp://"):]
        else:
            transport = httpx.AsyncHTTPTransport(retries=0,
                                                 verify=tls_context(tls, client_cert))
            base = "https://" + url[len("tcp://"):]
        # trust_env=False: no proxy from the environment between us and the engine.
        self.client = httpx.AsyncClient(transport=transport, base_url=base, trust_env=False,
                                        timeout=httpx.Timeout(timeout),
                                        follow_redirects=False)

    async def close(self) -> None:
        await self.client.aclose()

    async def get(self, path: str, params: dict | None = None) -> Any:
        try:
            return await asyncio.wait_for(self._get(path, params), self.timeout)
        except (TimeoutError, asyncio.TimeoutError):
            raise EngineUnavailable(f"no answer within {self.timeout:g} s") from None

    async def _get(self, path: str, params: dict | None) -> Any:
        import httpx

        try:
            async with self.client.stream("GET", path, params=params) as response:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE:
                        raise EngineUnavailable(f"GET {path}: answer larger than "
                                                f"{MAX_RESPONSE >> 20} MiB")
                status = response.status_code
        except httpx.TimeoutException:
            raise EngineUnavailable(f"no answer within {self.timeout:g} s") from None
        except httpx.ConnectError as exc:
            raise EngineUnavailable(f"cannot connect ({_reason(exc)})") from None
        except (httpx.HTTPError, OSError) as exc:
            raise EngineUnavailable(f"the connection failed ({_reason(exc)})") from None
        if status == 404:
            return None
        if status != 200:
            raise EngineUnavailable(f"GET {path}: HTTP {status}")
        if path == "/_ping":
            return bytes(body).decode("utf-8", "replace")
        try:
            return json.loads(bytes(body))
        except ValueError:
            raise EngineUnavailable(f"GET {path}: the answer is not JSON (not a Docker "
                                    "Engine?)") from None


def tls_context(tls, client_cert: bool = True):
    """The TLS context for an engine: its certificate checked against ca.pem when `verify`
    (else only encrypted, as DOCKER_TLS), and this client's cert.pem/key.pem presented when
    `client_cert` and both are there. EngineUnavailable when a file cannot be used."""
    import ssl

    ca = tls.file("ca.pem")
    if tls.verify and ca is None:
        raise EngineUnavailable(f"no ca.pem in {tls.cert_path} to check the engine's "
                                "certificate (DOCKER_CERT_PATH, or ?certs=DIR)")
    try:
        context = ssl.create_default_context(cafile=ca if tls.verify else None)
        if not tls.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        cert, key = tls.file("cert.pem"), tls.file("key.pem")
        if client_cert and cert and key:
            context.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError, ValueError) as exc:
        # The error names the file, never its content (key.pem is a secret).
        raise EngineUnavailable(f"the TLS files in {tls.cert_path} cannot be used "
                                f"({type(exc).__name__})") from None
    return context


def _reason(exc: Exception) -> str:
    import ssl

    chain: list[BaseException] = [exc]         # httpx wraps httpcore, which wraps ssl
    while len(chain) < 6 and (chain[-1].__cause__ or chain[-1].__context__) is not None:
        chain.append(chain[-1].__cause__ or chain[-1].__context__)  # type: ignore[arg-type]
    for error in chain:
        if isinstance(error, ssl.SSLCertVerificationError):
            return f"{UNTRUSTED}: {error.verify_message or error.reason}"
        if isinstance(error, ssl.SSLError):
            return f"TLS failed: {error.reason or type(error).__name__}"
        if isinstance(error, OSError) and error.strerror:
            return error.strerror
    text = str(exc).strip()
    if "No such file" in text:
        return "no such socket"
    if "Connection refused" in text:
        return "connection refused"
    if "Permission denied" in text:
        return "permission denied"
    return type(exc).__name__


async def collect_api(target, url: str, timeout: float, tls=None) -> list:
    """[DockerEngine, Container…] from the Engine API at `url` (over TLS with `tls`)."""
    engine = DockerEngine(target.raw, _api_name(url), "api", address=url)
    try:
        if tls is not None:
            engine.tls = await _client_auth(url, timeout, tls)
        api = EngineApi(url, timeout, tls)
    except EngineUnavailable as exc:
        return [_unavailable(engine, f"cannot read the Docker Engine at {_where(url)}: {exc}",
                             target.location)]
    try:
        ping = await api.get("/_ping")
        if not isinstance(ping, str) or ping.strip() != "OK":
            raise EngineUnavailable("GET /_ping did not answer OK (not a Docker Engine?)")
        info = await api.get("/info")
        if isinstance(info, dict):
            engine.name = str(info.get("Name") or engine.name)
            engine.version = str(info.get("ServerVersion") or "") or None
        listed = await api.get("/containers/json", {"all": "1"})
        if not isinstance(listed, list):
            raise EngineUnavailable("GET /containers/json: not a list of containers")
        ids = [str(c.get("Id")) for c in listed if isinstance(c, dict) and c.get("Id")]
        ids = _bounded(engine, ids, target)
        semaphore = asyncio.Semaphore(INSPECT_CONCURRENCY)

        async def inspect(path: str):
            async with semaphore:
                return await api.get(path)

        documents = await asyncio.gather(*(inspect(f"/containers/{i}/json") for i in ids))
        documents = [d for d in documents if isinstance(d, dict)]   # removed since listed
        image_ids = sorted({str(d.get("Image")) for d in documents if d.get("Image")})
        images = await asyncio.gather(*(inspect(f"/images/{i}/json") for i in image_ids))
    except EngineUnavailable as exc:
        return [_unavailable(engine, f"cannot read the Docker Engine at {_where(url)}: {exc}",
                             target.location)]
    finally:
        await api.close()
    by_id = {i: image for i, image in zip(image_ids, images) if isinstance(image, dict)}
    return _facts(engine, documents, by_id, target, None)


async def _client_auth(url: str, timeout: float, tls) -> str:
    """Whether the engine asks for a client certificate: "mutual" when a connection without
    one is refused, "any-client" when it answers anyway (TLS then only encrypts: whoever
    reaches the port drives the engine). EngineUnavailable when it must have one and this
    client has none."""
    anonymous = EngineApi(url, timeout, tls, client_cert=False)
    try:
        ping = await anonymous.get("/_ping")
    except EngineUnavailable as exc:
        if UNTRUSTED in str(exc):
            raise
        if tls.file("cert.pem") is None or tls.file("key.pem") is None:
            raise EngineUnavailable(f"{exc}; the engine may want a client certificate: "
                                    f"put cert.pem and key.pem in {tls.cert_path}") from None
        return "mutual"
    finally:
        await anonymous.close()
    if isinstance(ping, str) and ping.strip() == "OK":
        return "any-client"
    return "mutual"


def _api_name(url: str) -> str:
    if url.startswith("tcp://"):
        return url[len("tcp://"):].rpartition(":")[0].strip("[]") or "docker"
    return "local"


def _where(url: str) -> str:
    return url[len("unix://"):] if url.startswith("unix://") else url


# --- docker over a host transport ----------------------------------------------------------

async def collect_transport(target, transport, name: str) -> list:
    """[DockerEngine, Container…] through `docker` commands on the host; [] when the host has
    no `docker`."""
    from labwarden.sources.live.transport import NOT_FOUND, SnapshotTransport

    if isinstance(transport, SnapshotTransport):
        return _from_snapshot(target, transport, name)
    engine = DockerEngine(target.raw, name, transport.name)
    listed = await transport.run(["docker", "ps", "-a", "-q", "--no-trunc"])
    if listed.rc == NOT_FOUND:
        return []                          # the host does not run Docker
    if not listed.ok:
        return [_unavailable(engine, "Docker is installed but its engine could not be read "
                             f"({_last_line(listed.stderr) or f'exit {listed.rc}'})"
                             + (": try --ssh-sudo, or add the user to the docker group"
                                if "permission denied" in listed.stderr.lower() else ""),
                             target.location, level="warning")]
    ids = [line.strip() for line in listed.stdout.splitlines() if _ID.match(line.strip())]
    ids = _bounded(engine, ids, target)
    documents: list = []
    for start in range(0, len(ids), INSPECT_BATCH):
        result = await transport.run(["docker", "inspect", "--type", "container",
                                      *ids[start:start + INSPECT_BATCH]])
        found = _json_list(result.stdout) if result.stdout.strip() else []
        if found is None:
            return [_unavailable(engine, "docker inspect did not print a JSON list",
                                 target.location)]
        documents += [d for d in found if isinstance(d, dict)]   # one removed meanwhile: rc 1
    image_ids = sorted({str(d.get("Image")) for d in documents
                        if _IMAGE_ID.match(str(d.get("Image") or ""))})
    images: dict[str, dict] = {}
    for start in range(0, len(image_ids), INSPECT_BATCH):
        result = await transport.run(["docker", "image", "inspect",
                                      *image_ids[start:start + INSPECT_BATCH]])
        for image in _json_list(result.stdout) or []:
            if isinstance(image, dict) and image.get("Id"):
                images[str(image["Id"])] = image
    return _facts(engine, documents, images, target, None)


def _from_snapshot(target, transport, name: str) -> list:
    """The snapshot's docker files, through its transport: a directory or a tarball."""
    engine = DockerEngine(target.raw, name, "snapshot")
    directory = transport.directory
    path = os.path.join(directory, SNAPSHOT_CONTAINERS)
    if not transport.has(SNAPSHOT_CONTAINERS):
        return []                          # Docker not collected on that host
    loaded: dict[str, list | None] = {}
    for file in (SNAPSHOT_CONTAINERS, SNAPSHOT_IMAGES):
        full = os.path.join(directory, file)
        if file == SNAPSHOT_IMAGES and not transport.has(file):
            loaded[file] = []
            continue
        data = transport.saved(file, MAX_RESPONSE)
        if data is None:
            why = next((w for p, w in transport.skipped if p.endswith(file)), "not readable")
            return [_unavailable(engine, f"{file} not read: {why}", Location(full))]
        loaded[file] = _json_list(data.decode("utf-8", "replace"))
        if loaded[file] is None:
            return [_unavailable(engine, f"{file} is not `docker inspect` output (a JSON "
                                 "list)", Location(full))]
    images = {str(i["Id"]): i for i in loaded[SNAPSHOT_IMAGES] or []
              if isinstance(i, dict) and i.get("Id")}
    documents = [d for d in loaded[SNAPSHOT_CONTAINERS] or [] if isinstance(d, dict)]
    return _facts(engine, documents, images, target, Location(path))


def _json_list(text: str) -> list | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, list) else None


def _last_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[-1][:200]


# --- the facts -------------------------------------------------------------------------------

def _bounded(engine: DockerEngine, ids: list[str], target) -> list[str]:
    if len(ids) > MAX_CONTAINERS:
        engine.diagnostics.append(Diagnostic(
            "warning", "partial", f"{len(ids)} containers: only the first {MAX_CONTAINERS} "
            "were read", target.location))
        return ids[:MAX_CONTAINERS]
    return ids


def _facts(engine: DockerEngine, documents: list[dict], images: dict[str, dict], target,
           origin: Location | None) -> list:
    containers: list[Container] = []
    for document in documents[:MAX_CONTAINERS]:
        image = images.get(str(document.get("Image") or ""))
        container = parse_container(document, image, engine=engine.name, target=target.raw,
                                    origin=origin)
        if container.error:
            engine.diagnostics.append(Diagnostic(
                "warning", "partial", f"container {container.name or '?'}: {container.error}",
                origin or target.location))
            continue
        containers.append(container)
    engine.containers = len(containers)
    return [engine, *sorted(containers, key=lambda c: c.name)]


def _unavailable(engine: DockerEngine, message: str, location: Location,
                 level: str = "error") -> DockerEngine:
    engine.error = message
    engine.diagnostics.append(Diagnostic(level, "unreachable" if level == "error" else
                                         "not-collected", message, location))
    return engine


# --- the probe -------------------------------------------------------------------------------

async def probe(target, options) -> list:
    """The containers of the engine `target` names (`docker…`), or of the host it names
    (`local://`, `ssh://`, `snapshot:`)."""
    timeout = max(float(getattr(options, "timeout", 5.0)), 0.1)
    if target.scheme == "docker":
        from labwarden.sources.docker.address import engine_tls

        try:
            tls = engine_tls(target.raw)
        except ValueError as exc:
            engine = DockerEngine(target.raw, _api_name(target.path), "api",
                                  address=target.path)
            return [_unavailable(engine, str(exc), target.location)]
        return await collect_api(target, target.path, timeout, tls)
    from labwarden.sources.live.host import _name, transport_for

    try:
        transport = transport_for(target, options)
    except ValueError:                   # a snapshot that cannot be read: the host probe
        return []                        # reports it, once
    name = _name(target, options)
    engine = DockerEngine(target.raw, name, target.scheme)
    try:
        async with transport:
            return await collect_transport(target, transport, name)
    except (TimeoutError, OSError) as exc:
        return [_unavailable(engine, "Docker not read: cannot reach the host "
                             f"({getattr(exc, 'strerror', None) or type(exc).__name__})",
                             target.location, level="warning")]
    except Exception as exc:  # noqa: BLE001 - asyncssh errors and the like: never raise
        reason = getattr(exc, "reason", "") or type(exc).__name__
        return [_unavailable(engine, f"Docker not read: {reason}", target.location,
                             level="warning")]
