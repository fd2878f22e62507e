"""Where an image tag's digest comes from, for the digest-pinning fix (IMG001, IMG002).

labwarden never asks a registry: the digest must have been recorded by the person who tested
the image, in one of two forms.

1. A lock file, `labwarden.lock` or `images.lock` (YAML or JSON), found beside
   labwarden.yaml or in an audited directory, or named with `--digests`:

   ```yaml
   # The digest each image tag resolved to when it was tested.
   version: 1
   images:
     postgres:16.4: sha256:3f1c…            # 64 hex digits
     ghcr.io/paperless-ngx/paperless-ngx:2.13.5: ghcr.io/paperless-ngx/paperless-ngx@sha256:…
   ```

   Keys are image references with a tag, written as in a Compose file (`postgres:16.4` and
   `docker.io/library/postgres:16.4` are the same key). Values are a digest, or a repository
   digest `name@sha256:…` whose name must be the key's repository.

2. The JSON that `docker image inspect IMAGE…` prints (`--digests inspect.json`): each
   image's `RepoTags` are paired with its `RepoDigests` of the same repository. The image
   `Id` is the digest of the image's configuration, not of its manifest, and is never used:
   a registry does not serve an image by it.
"""

from __future__ import annotations

import os
import re

from labwarden.knowledge.imageref import ImageRef, parse_image
from labwarden.sources.yamlfile import Map, Seq, YamlLoadError, load_yaml_file

LOCK_NAMES = ("labwarden.lock", "images.lock")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class DigestFileError(Exception):
    pass


def _key(ref: ImageRef) -> tuple[str, str, str]:
    return ref.registry, ref.repository, ref.tag or "latest"


class DigestBook:
    """image (registry, repository, tag) → the digests recorded for it, and where."""

    def __init__(self):
        self._digests: dict[tuple[str, str, str], dict[str, str]] = {}
        self.sources: list[str] = []

    def __len__(self) -> int:
        return len(self._digests)

    def add(self, ref: ImageRef, digest: str, source: str) -> None:
        self._digests.setdefault(_key(ref), {}).setdefault(digest, source)

    def lookup(self, ref: ImageRef) -> tuple[str | None, str]:
        """(digest, source) or (None, why not)."""
        found = self._digests.get(_key(ref))
        name = f"{ref.name}:{ref.tag or 'latest'}"
        if not found:
            if self.sources:
                where = "not in " + ", ".join(os.path.basename(s) for s in self.sources)
            else:
                where = "add it to labwarden.lock, or give `docker image inspect` output " \
                        "with --digests"
            return None, f"no digest is recorded for `{name}` ({where})"
        if len(found) > 1:
            sources = ", ".join(sorted(set(found.values())))
            return None, (f"{len(found)} different digests are recorded for `{name}` "
                          f"({sources}); keep one")
        digest, source = next(iter(found.items()))
        return digest, source

    def load(self, path: str) -> None:
        try:
            _, documents, _ = load_yaml_file(path)
        except YamlLoadError as exc:
            raise DigestFileError(f"{exc.location}: {exc.message}") from None
        data = documents[0] if documents else None
        if isinstance(data, Seq):
            self._load_inspect(data, path)
        elif isinstance(data, Map) and isinstance(data.get("images"), Map):
            self._load_lock(data["images"], path)
        else:
            raise DigestFileError(f"{path}: neither a lock file (a mapping with `images:`) nor "
                                  "`docker image inspect` output (a JSON list)")
        self.sources.append(path)

    def _load_lock(self, images: Map, path: str) -> None:
        for image, value in images.items():
            where = images.loc_of(image)
            ref = parse_image(str(image))
            if ref is None or ref.digest or ref.tag is None:
                raise DigestFileError(f"{where}: `{image}` is not an image reference with a "
                                      "tag and no digest")
            text = str(value or "").strip()
            name, at, digest = text.rpartition("@")
            if at:
                named = parse_image(name)
                if named is None or (named.registry, named.repository) != \
                        (ref.registry, ref.repository):
                    raise DigestFileError(f"{where}: `{text}` is a digest of another "
                                          f"repository than `{image}`")
            if not _DIGEST.match(digest):
                raise DigestFileError(f"{where}: `{text}` is not a sha256 digest (sha256: and "
                                      "64 lower-case hex digits)")
            self.add(ref, digest, path)

    def _load_inspect(self, entries: Seq, path: str) -> None:
        for entry in entries:
            if not isinstance(entry, Map):
                raise DigestFileError(f"{path}: not `docker image inspect` output")
            if "RepoTags" not in entry and "State" in entry:
                raise DigestFileError(f"{path}: this is `docker container inspect` output, "
                                      "which has no repository digest; use `docker image "
                                      "inspect`")
            tags = entry.get("RepoTags") or []
            digests = entry.get("RepoDigests") or []
            for tag in tags:
                tagged = parse_image(str(tag))
                if tagged is None or tagged.tag is None:
                    continue
                for item in digests:
                    named = parse_image(str(item))
                    if named is None or named.digest is None or not _DIGEST.match(named.digest):
                        continue
                    if (named.registry, named.repository) == \
                            (tagged.registry, tagged.repository):
                        self.add(tagged, named.digest, path)


def find_lock_files(directories: list[str]) -> list[str]:
    """labwarden.lock / images.lock in the given directories, each once."""
    found: list[str] = []
    for directory in directories:
        for name in LOCK_NAMES:
            path = os.path.abspath(os.path.join(directory, name))
            if os.path.isfile(path) and path not in found:
                found.append(path)
    return found
