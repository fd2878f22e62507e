"""`fix` writes only inside the tree it was given: a file reached through `include: ../x` or
through a symlink that leads out is left alone and named, in the dry run as with --apply.
What it does write keeps its mode and leaves no lock or temporary file behind."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from fix_lab import snapshot, write

SERVICE = "services:\n  {name}:\n    image: nginx:1.27.3\n"


@pytest.fixture()
def escaping(tmp_path: Path) -> Path:
    """A tree whose project includes a file beside it and links a Compose file from there."""
    write(tmp_path, {
        "outside/extra.yaml": SERVICE.format(name="ext"),
        "outside/real.yaml": SERVICE.format(name="sym"),
        "tree/app/compose.yaml": "include:\n  - ../../outside/extra.yaml\n"
                                 + SERVICE.format(name="web"),
    })
    (tmp_path / "tree" / "linked").mkdir()
    (tmp_path / "tree" / "linked" / "compose.yaml").symlink_to("../../outside/real.yaml")
    return tmp_path


@pytest.mark.parametrize("apply", [False, True])
def test_files_outside_the_named_tree_are_left_alone_and_named(escaping, run_fix,
                                                               apply) -> None:
    before = snapshot(escaping / "outside")
    result = run_fix(str(escaping / "tree"), "--no-config", *(["--apply"] if apply else []))
    assert snapshot(escaping / "outside") == before
    assert "outside/extra.yaml is outside the tree named on the command line" in result.err
    assert "(a symlink to " in result.err and "real.yaml)" in result.err
    assert "extra.yaml" not in result.out and "real.yaml" not in result.out   # not in the diff
    assert "skipped  " in result.line("CMP071", "skipped")
    assert "tree/app/compose.yaml" in (result.err if apply else result.out)
    if apply:
        assert "restart: unless-stopped" in (escaping / "tree/app/compose.yaml").read_text()


def test_a_fixed_file_keeps_its_mode_and_leaves_nothing_beside_it(tmp_path, run_fix) -> None:
    write(tmp_path, {"app/compose.yaml": SERVICE.format(name="web")})
    path = tmp_path / "app" / "compose.yaml"
    path.chmod(0o640)
    result = run_fix(str(tmp_path), "--no-config", "--apply")
    assert result.code == 0
    assert "restart: unless-stopped" in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in path.parent.iterdir()) == ["compose.yaml"]
