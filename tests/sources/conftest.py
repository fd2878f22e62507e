"""Helpers for the source-layer tests: write a small tree, load it as Compose would."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from labwarden.model import Diagnostic
from labwarden.sources.compose.discover import ProjectSpec, discover
from labwarden.sources.compose.loader import LoadOptions, load_project
from labwarden.sources.compose.model import ComposeProject


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write `files` (relative path -> text, dedented; bytes as they are) under root."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return root


class Loaded:
    """One loaded project and every diagnostic the load produced."""

    def __init__(self, project: ComposeProject | None, diagnostics: list[Diagnostic]):
        self.project = project
        self.diagnostics = diagnostics

    def codes(self, level: str | None = None) -> list[str]:
        return [d.code for d in self.diagnostics if level is None or d.level == level]

    def diag(self, code: str) -> Diagnostic:
        found = [d for d in self.diagnostics if d.code == code]
        assert found, f"no {code} diagnostic in {[str(d) for d in self.diagnostics]}"
        return found[0]

    def service(self, name: str):
        assert self.project is not None, [str(d) for d in self.diagnostics]
        return self.project.services[name]


def load_dir(root: Path, **options) -> Loaded:
    """Discover the single project in `root` and load it."""
    diagnostics: list[Diagnostic] = []
    specs = discover([str(root)], diagnostics)
    assert len(specs) == 1, specs
    project = load_project(specs[0], diagnostics, LoadOptions(**options))
    return Loaded(project, diagnostics)


def load_files(root: Path, *names: str, **options) -> Loaded:
    """Load `names` as one project, like `docker compose -f A -f B` in root."""
    diagnostics: list[Diagnostic] = []
    spec = ProjectSpec(str(root), [str(root / n) for n in names], key="stack", explicit=True)
    project = load_project(spec, diagnostics, LoadOptions(**options))
    return Loaded(project, diagnostics)


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the first line of `path` containing `needle`."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def at(location, path: Path, needle: str) -> bool:
    """True when `location` is the line of `path` holding `needle`."""
    return (os.path.abspath(location.path) == os.path.abspath(path)
            and location.line == line_of(path, needle))


class Kit:
    """What the tests use, handed out by the `lw` fixture (test modules import nothing
    from here, so the helpers cannot clash with another directory's conftest)."""

    Loaded = Loaded

    def __init__(self, base: Path):
        self.base = base
        self.count = 0

    def tree(self, files: dict[str, str | bytes], name: str | None = None) -> Path:
        """Write a project into a fresh directory under the test's tmp_path."""
        self.count += 1
        root = self.base / (name or f"p{self.count}")
        root.mkdir(parents=True, exist_ok=True)
        return write(root, files)

    write = staticmethod(write)
    load = staticmethod(load_dir)
    load_files = staticmethod(load_files)
    line_of = staticmethod(line_of)
    at = staticmethod(at)


@pytest.fixture
def lw(tmp_path) -> Kit:
    return Kit(tmp_path)
