"""Reading a component's files where the host keeps them, and its YAML with line numbers.

A containerised Prometheus names its rule files and `file_sd` files by paths inside the
container (`/etc/prometheus/rules/*.yml`); the Compose service's bind mounts say where
they are on the host. A path that no mount covers lives inside the image: not readable.
"""

from __future__ import annotations

import glob
import os
import posixpath

from labwarden.model import Diagnostic, Location


class PathMap:
    """Container paths to host paths, through bind mounts (longest prefix wins). Without
    mounts (a config file named directly) paths are host paths already."""

    def __init__(self, mounts: list[tuple[str, str]] | None = None):
        # (container path, host path), both normalised
        self.mounts = sorted(((posixpath.normpath(c), os.path.normpath(h))
                              for c, h in (mounts or [])), key=lambda m: -len(m[0]))
        self.identity = mounts is None

    def to_host(self, path: str, base: str) -> str | None:
        """The host path of `path` as the component reads it (relative to `base`, the
        directory of its config file, in the component's own view)."""
        if self.identity:
            return os.path.normpath(os.path.join(base, path))
        inside = posixpath.normpath(posixpath.join(base, path))
        for container, host in self.mounts:
            if inside == container:
                return host
            if inside.startswith(container.rstrip("/") + "/"):
                return os.path.join(host, inside[len(container.rstrip("/")) + 1:])
        return None


def expand(pattern: str) -> list[str]:
    """The files a glob names (Prometheus and Promtail accept globs), sorted."""
    if not glob.has_magic(pattern):
        return [pattern] if os.path.exists(pattern) else []
    return sorted(p for p in glob.glob(pattern) if os.path.isfile(p))


def load_yaml(path: str, diagnostics: list) -> object | None:
    """The first YAML document of `path` (Map/Seq with locations), or None after a
    diagnostic that names the file and line."""
    from labwarden.sources.yamlfile import YamlLoadError, load_yaml_file

    try:
        _, documents, _problems = load_yaml_file(path)
    except YamlLoadError as exc:
        diagnostics.append(Diagnostic("error", "unreadable-config", exc.message, exc.location))
        return None
    except (OSError, UnicodeError) as exc:
        diagnostics.append(Diagnostic("error", "unreadable-config",
                                      f"cannot read: {getattr(exc, 'strerror', None) or exc}",
                                      Location(path)))
        return None
    return documents[0] if documents else None


def read_text(path: str, diagnostics: list) -> str | None:
    """A text file's contents (regular files only, bounded), or None after a diagnostic."""
    from labwarden.sources.yamlfile import YamlLoadError
    from labwarden.sources.yamlfile import read_text as read_bounded

    try:
        return read_bounded(path)
    except YamlLoadError as exc:
        diagnostics.append(Diagnostic("error", "unreadable-config", exc.message, exc.location))
        return None


def seq(node) -> list:
    return list(node) if isinstance(node, list) else []


def text_list(node) -> list[str]:
    if node is None:
        return []
    if isinstance(node, list):
        return [str(v) for v in node if v is not None]
    return [str(node)]
