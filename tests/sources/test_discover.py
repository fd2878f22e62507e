"""Project discovery: which files `docker compose` would pick in each directory."""

from __future__ import annotations

import os

from labwarden.sources.compose.discover import ProjectSpec, discover
from labwarden.sources.compose.loader import load_project


def names(spec: ProjectSpec) -> list[str]:
    return [os.path.basename(f) for f in spec.files]


def test_file_precedence_and_ignored_files(lw):
    root = lw.tree({
        "a/compose.yaml": "services: {}\n",
        "a/docker-compose.yml": "services: {}\n",
        "b/docker-compose.yml": "services: {}\n",
        "b/docker-compose.yaml": "services: {}\n",
        "c/compose.yml": "services: {}\n",
        "c/docker-compose.override.yml": "services: {}\n",
        "c/compose.override.yaml": "services: {}\n",
    })
    diagnostics = []
    specs = {s.key: s for s in discover([str(root)], diagnostics)}
    assert names(specs["a"]) == ["compose.yaml"]
    assert names(specs["b"]) == ["docker-compose.yml"]  # compose-go prefers .yml here
    assert names(specs["c"]) == ["compose.yml", "compose.override.yaml"]
    ignored = sorted(os.path.relpath(d.location.path, root) for d in diagnostics
                     if d.code == "ignored-compose-file")
    assert ignored == ["a/docker-compose.yml", "b/docker-compose.yaml",
                       "c/docker-compose.override.yml"]


def test_other_compose_files_are_noted_not_loaded(lw):
    root = lw.tree({
        "compose.yaml": "services: {}\n",
        "compose.prod.yaml": "services: {}\n",
        "docker-compose-arm64.yml": "services: {}\n",
        "settings.yaml": "a: 1\n",
    })
    diagnostics = []
    specs = discover([str(root)], diagnostics)
    assert [names(s) for s in specs] == [["compose.yaml"]]
    noted = sorted(os.path.basename(d.location.path) for d in diagnostics
                   if d.code == "not-loaded-by-compose")
    assert noted == ["compose.prod.yaml", "docker-compose-arm64.yml"]


def test_explicit_file_and_missing_path(lw):
    root = lw.tree({
        "stack/docker-compose.yml": "services: {}\n",
        "stack/docker-compose.override.yml": "services: {}\n",
        "stack/extra.yml": "services: {}\n",
    })
    diagnostics = []
    specs = discover([str(root / "stack" / "docker-compose.yml"), str(root / "stack/extra.yml"),
                      str(root / "nope")], diagnostics)
    # A file named alone takes its directory's override (whatever its own name), found when
    # the project is loaded.
    assert [names(s) for s in specs] == [["docker-compose.yml"], ["extra.yml"]]
    loaded = [load_project(s, diagnostics) for s in specs]
    assert [[os.path.basename(f) for f in p.files] for p in loaded] == [
        ["docker-compose.yml", "docker-compose.override.yml"], ["extra.yml"]]
    assert all(s.explicit for s in specs)
    assert [s.key for s in specs] == ["stack", os.path.join("stack", "extra.yml")]
    assert [d.code for d in diagnostics] == ["not-found"]


def test_skipped_directories(lw):
    root = lw.tree({
        "app/compose.yaml": "services: {}\n",
        "app/node_modules/pkg/compose.yaml": "services: {}\n",
        ".git/compose.yaml": "services: {}\n",
        ".venv/compose.yaml": "services: {}\n",
    })
    specs = discover([str(root)], [])
    assert [s.key for s in specs] == ["app"]


def test_symlinked_directory_is_walked_once(lw):
    # Whichever name sorts first, the project is audited at its real path, not the link's.
    for link in ("alias", "zalias"):
        root = lw.tree({"real/compose.yaml": "services: {}\n"}, name=link)
        os.symlink("real", root / link)
        diagnostics = []
        specs = discover([str(root)], diagnostics)
        assert [s.key for s in specs] == ["real"]
        assert [(d.code, d.level, d.location.path) for d in diagnostics] == \
            [("symlink-inside-tree", "info", str(root / link))]


def test_files_loaded_through_compose_file_are_not_called_unloaded(lw):
    """`.env`'s COMPOSE_FILE loads files discovery would call "not loaded by Compose": the
    audit drops that note for each file a project did load, with or without a default file
    in the directory (issue 15)."""
    from labwarden.audit.compose import AuditOptions, audit

    root = lw.tree({
        "a/compose.yaml": "services:\n  web:\n    image: nginx:1.27\n",
        "a/docker-compose.prod.yml": "services:\n  web:\n    read_only: true\n",
        "a/.env": "COMPOSE_FILE=compose.yaml:docker-compose.prod.yml\n",
        "b/docker-compose.dev.yml": "services:\n  app:\n    image: nginx:1.27\n",
        "b/.env": "COMPOSE_FILE=docker-compose.dev.yml\n",
        "c/compose.stage.yml": "services:\n  x:\n    image: nginx:1.27\n",
        "d/compose.test.yml": "services:\n  y:\n    image: nginx:1.27\n",
        "d/.env": "TZ=UTC\n",
    })
    result = audit([str(root)], AuditOptions(jobs=1))
    noted = sorted(os.path.relpath(d.location.path, root) for d in result.diagnostics
                   if d.code == "not-loaded-by-compose")
    assert noted == ["c/compose.stage.yml", "d/compose.test.yml"]
    assets = {f.asset for f in result.findings}
    assert "compose:b/app" in assets                  # loaded through COMPOSE_FILE alone
    assert not any(f.rule.id == "CMP012" and "read_only" in f.message
                   for f in result.findings if f.asset == "compose:a/web")


def test_a_named_project_file_is_keyed_by_the_name_of_its_directory(tmp_path, monkeypatch):
    """However the path is written (`.`, `..`, doubled slashes, the working directory), the
    project is named after the directory the file is in, as `docker compose` names it."""
    for directory in ("work/a/b", "work/a/c", "work/b"):
        (tmp_path / directory).mkdir(parents=True)
        (tmp_path / directory / "compose.yaml").write_text("services: {}\n")
    monkeypatch.chdir(tmp_path / "work" / "a" / "b")
    written = ["compose.yaml", "./compose.yaml", "../b/compose.yaml", "../c/./compose.yaml",
               "../c/../b/compose.yaml", "..//c/compose.yaml", "../../b/compose.yaml",
               f"{tmp_path}/work/a/c/compose.yaml"]
    specs = discover(written, [])
    assert [s.key for s in specs] == ["b", "b", "b", "c", "b", "c", "b", "c"]


def test_a_walked_project_is_keyed_by_its_path_under_the_root(tmp_path, monkeypatch):
    """However the root is written, each project of a tree is keyed by its directory
    relative to the root (the root's own project by the root's name): what relpath() says,
    which the walk reads off the paths it joins without asking the file system."""
    for directory in ("lab", "lab/media/jellyfin", "lab/tools"):
        (tmp_path / directory).mkdir(parents=True, exist_ok=True)
        (tmp_path / directory / "compose.yaml").write_text("services: {}\n")
    monkeypatch.chdir(tmp_path)
    for root in ("lab", "lab/", "./lab", "lab/./", "lab//", "lab/media/..", str(tmp_path / "lab"),
                 f"/{tmp_path}/lab"):
        specs = discover([root], [])
        assert [s.key for s in specs] == ["lab", os.path.join("media", "jellyfin"), "tools"], root
        assert all(s.key == os.path.relpath(s.directory, root) for s in specs[1:]), root
    monkeypatch.chdir(tmp_path / "lab" / "tools")
    assert [s.key for s in discover(["."], [])] == ["tools"]
    assert [s.key for s in discover([".."], [])] == ["lab", os.path.join("media", "jellyfin"),
                                                     "tools"]
