"""Image references reduced to what rules compare: the repository path and its last name.

`docker.io/library/postgres:16@sha256:…` → repository `postgres`, name `postgres`;
`lscr.io/linuxserver/swag:2.11` → repository `linuxserver/swag`, name `swag`;
`localhost:5000/team/app:1` → repository `team/app`, name `app`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache


@lru_cache(maxsize=4096)   # rules ask about the same few hundred images thousands of times
def repository(image: str | None) -> str:
    """The repository path without registry, `library/`, tag or digest, lower-cased."""
    if not image:
        return ""
    ref = str(image).strip().lower().split("@", 1)[0]
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:                       # a tag, not a registry port
        ref = ref[:colon]
    parts = [p for p in ref.split("/") if p]
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]                   # the registry host
    if len(parts) > 1 and parts[0] == "library":
        parts = parts[1:]
    return "/".join(parts)


def name(image: str | None) -> str:
    """The last path component of the repository: `grafana/grafana-oss` → `grafana-oss`."""
    return repository(image).rsplit("/", 1)[-1]


@lru_cache(maxsize=1024)    # the knowledge tables and the policy's lists: a few hundred
def _candidates(candidates: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """`candidates` as `matches` reads them: (the repositories named with a slash, the last
    names named alone)."""
    repositories: set[str] = set()
    names: set[str] = set()
    for candidate in candidates:
        wanted = repository(candidate)
        (repositories if "/" in wanted else names).add(wanted)
    return frozenset(repositories), frozenset(names)


def name_search(candidates: Iterable[str]) -> re.Pattern[str]:
    """A search for the last name of any of `candidates` (`traefik`, `grafana`) in a
    lower-cased image reference: an image in which it finds none is none of them, whatever
    its registry, namespace and tag. One search rules out most images before any is parsed
    or matched."""
    names = sorted({repository(candidate).rsplit("/", 1)[-1] for candidate in candidates})
    return re.compile("|".join(map(re.escape, names)))


def matches(image: str | None, candidates: Iterable[str]) -> bool:
    """True when the image is one of `candidates`.

    A candidate with a slash names a repository (`jc21/nginx-proxy-manager`, registry
    optional); one without a slash names the last component (`traefik` also matches
    `library/traefik` and a mirror such as `registry.lan/traefik`).
    """
    # Two set look-ups. (A cache of answers by image and candidates missed nine times in ten:
    # most images of a large tree are asked about once per table.)
    repo = repository(None if image is None else str(image))
    if not repo:
        return False
    repositories, names = _candidates(tuple(candidates))
    return repo in repositories or repo.rsplit("/", 1)[-1] in names
