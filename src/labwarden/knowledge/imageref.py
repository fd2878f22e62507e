"""Image references (`ghcr.io/org/app:1.2@sha256:…`) parsed the way Docker reads them.

Pure helpers for the IMG rules: no I/O, no registry lookups. The grammar follows Docker's
`distribution/reference`: the first path component is a registry host only when it holds a
`.` or a `:` (a port), is `localhost`, or has capitals; otherwise the image is on Docker Hub,
whose single-name images live under `library/`.
"""

from __future__ import annotations

import re
from functools import lru_cache

from labwarden._record import FrozenRecord, set_frozen

DOCKER_HUB = "docker.io"
# Hosts that serve Docker Hub's content. Docker itself rewrites only `index.docker.io`; the
# other two are the Hub's API hosts, which some files name directly.
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io",
                          "registry.hub.docker.com"})
_SPACE = re.compile(r"\s")            # str.isspace(), character by character
_DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")

# Tags that follow a release channel rather than naming a version. A tag with no digit in it
# that holds a channel word (`stable-alpine`, `lts`, `main`), or is made only of variant
# words (`alpine` is the latest Alpine build, `fpm-alpine`), moves with every release
# exactly as `latest` does. `bookworm-slim` names a release series and is not reported.
_CHANNEL_WORDS = frozenset({
    "latest", "stable", "edge", "nightly", "dev", "devel", "develop", "development", "main",
    "master", "mainline", "rolling", "release", "testing", "test", "unstable", "beta",
    "alpha", "canary", "lts", "current", "next", "preview", "insiders", "snapshot",
})
_VARIANT_WORDS = frozenset({"alpine", "slim", "apache", "fpm", "cli", "musl", "glibc"})


class ImageRef(FrozenRecord):
    __slots__ = ("registry", "repository", "tag", "digest", "explicit_registry")
    registry: str
    repository: str
    tag: str | None
    digest: str | None
    explicit_registry: bool

    def __init__(self, registry: str, repository: str, tag: str | None, digest: str | None,
                 explicit_registry: bool):
        # lower case, Docker Hub spelled `docker.io`; may hold a :port
        set_frozen(self, "registry", registry)
        set_frozen(self, "repository", repository)  # the path inside the registry (`library/nginx`)
        set_frozen(self, "tag", tag)
        set_frozen(self, "digest", digest)  # `sha256:…`
        # the reference named its registry host
        set_frozen(self, "explicit_registry", explicit_registry)

    @property
    def host(self) -> str:
        """The registry host without its port."""
        if self.registry.startswith("["):          # [::1]:5000
            return self.registry.partition("]")[0] + "]"
        return self.registry.rpartition(":")[0] if ":" in self.registry else self.registry

    @property
    def name(self) -> str:
        """The reference without tag or digest, as short as Docker would write it."""
        if self.registry == DOCKER_HUB and not self.explicit_registry:
            return self.repository.removeprefix("library/")
        return f"{self.registry}/{self.repository}"

    @property
    def pinned_by_digest(self) -> bool:
        return self.digest is not None

    @property
    def floating(self) -> bool:
        """No tag (Docker pulls `latest`), `latest`, a release-channel or a bare major tag;
        a digest pins anyway."""
        return self.float_kind is not None

    @property
    def float_kind(self) -> str | None:
        """How the reference floats: "untagged", "latest" (IMG001), "channel" (`main`,
        `release`, `stable-latest`) or "major" (`16`, `v2`: every minor release) (IMG004);
        None when it names one version or has a digest."""
        if self.digest is not None:
            return None
        return tag_kind(self.tag)


_MAJOR_TAG = re.compile(r"[vV]?\d+\Z")


@lru_cache(maxsize=4096)   # IMG001 and IMG004 ask for every service: the tags repeat
def tag_kind(tag: str | None) -> str | None:
    """"untagged", "latest", "channel", "major" or None (a tag that names a version)."""
    if tag is None:
        return "untagged"
    if tag.lower() == "latest":
        return "latest"
    if is_channel_tag(tag):
        return "channel"
    if _MAJOR_TAG.match(tag):
        return "major"
    return None


def is_channel_tag(tag: str) -> bool:
    """`latest`, `stable-alpine`, `lts`: a tag that names a channel, not a version."""
    lowered = tag.lower()
    words = re.split(r"[-_.]+", lowered)
    if "latest" in words:
        return True
    if any(ch.isdigit() for ch in lowered):
        return False
    return any(w in _CHANNEL_WORDS for w in words) or all(w in _VARIANT_WORDS for w in words)


def parse_image(text: object) -> ImageRef | None:
    return _parse_image(text) if isinstance(text, str) else None


@lru_cache(maxsize=4096)   # the same images recur across services and rules
def _parse_image(text: str | None) -> ImageRef | None:
    """Parse an image reference; None when it is empty or not a reference Docker accepts
    (typically the leftovers of an unset variable: `app:`, `/app`, `${REG}/`)."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if not text or _SPACE.search(text):
        return None
    name, at, digest = text.partition("@")
    if at and not _DIGEST.match(digest):
        return None
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost" or
                  first != first.lower()):
        registry, path, explicit = first.lower(), rest, True
    else:
        registry, path, explicit = DOCKER_HUB, name, False
    if not registry or registry.startswith(":") or registry.endswith(":"):
        return None
    tag = None
    if ":" in path:
        path, _, tag = path.rpartition(":")
        if not _TAG.match(tag):
            return None
    if not path or not all(_COMPONENT.match(c) for c in path.split("/")):
        return None
    if registry in _HUB_ALIASES:
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    return ImageRef(registry, path, tag, digest or None, explicit)


@lru_cache(maxsize=1024)   # the policy's few entries, normalised for every image
def normalise_registry_entry(entry: str) -> str:
    """An allow-list entry as written by a person: `https://Registry.Local:5000/` and the
    Hub's aliases become comparable with `ImageRef.registry`."""
    text = entry.strip().lower()
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text).rstrip("/")
    host, slash, path = text.partition("/")
    if host in _HUB_ALIASES:
        host = DOCKER_HUB
    return f"{host}{slash}{path}"


def registry_allowed(ref: ImageRef, allowed: tuple[str, ...] | list[str]) -> bool:
    """Whether `ref` comes from an allowed registry.

    An entry allows its registry and that registry's subdomains (`gcr.io` allows
    `eu.gcr.io`, never `evilgcr.io`). An entry without a port allows the host on any port;
    one with a port only that port. An entry with a path (`ghcr.io/myorg`,
    `docker.io/library`) allows only repositories under that path.
    """
    for raw in allowed:
        entry = normalise_registry_entry(str(raw))
        if not entry:
            continue
        host, _, prefix = entry.partition("/")
        if prefix and not (ref.repository == prefix or ref.repository.startswith(prefix + "/")):
            continue
        if _host_matches(ref, host):
            return True
    return False


def _host_matches(ref: ImageRef, entry_host: str) -> bool:
    has_port = ":" in entry_host and not entry_host.endswith("]")
    candidate = ref.registry if has_port else ref.host
    return candidate == entry_host or candidate.endswith("." + entry_host)


_LOCAL_SUFFIXES = (".local", ".lan", ".home", ".internal", ".intranet", ".localdomain",
                   ".home.arpa", ".corp", ".private", ".localhost")


def is_private_registry(ref: ImageRef) -> bool:
    """A registry on the local network (`localhost:5000`, `registry.lan`, `10.0.0.5:5000`,
    a dotless host): one the operator runs, not an unknown party on the Internet."""
    import ipaddress  # rarely needed: only for images from a named registry

    host = ref.host.strip("[]")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." not in host or host.endswith(_LOCAL_SUFFIXES)
    return address.is_private or address.is_loopback or address.is_link_local
