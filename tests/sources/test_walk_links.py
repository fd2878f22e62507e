"""Discovery stays in the named tree: links to directories are not followed, out of the tree
(it would walk wherever they point) nor inside it (the same project twice, or forever), and
each link skipped is a diagnostic at its path. For Compose projects and for scripts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from labwarden.sources.compose.discover import discover
from labwarden.sources.scripts import find_scripts

COMPOSE = "services:\n  web:\n    image: nginx:1.27\n"
SCRIPT = "#!/bin/sh\necho hi\n"


def said(diagnostics) -> list[tuple[str, str, str]]:
    return [(d.level, d.code, os.path.basename(d.location.path)) for d in diagnostics]


@pytest.fixture
def tree(tmp_path):
    """tmp_path/tree/stack (a project and a script) and tmp_path/sibling, outside it."""
    for place in ("tree/stack", "sibling"):
        (tmp_path / place).mkdir(parents=True)
        (tmp_path / place / "compose.yaml").write_text(COMPOSE)
        (tmp_path / place / "run.sh").write_text(SCRIPT)
    return tmp_path / "tree"


def walked(tree) -> tuple[list[str], list, list[str], list]:
    """What Compose discovery and scripts discovery find under `tree`, and what they say."""
    compose, scripts = [], []
    projects = [s.key for s in discover([str(tree)], compose)]
    found = [display for _, display in find_scripts([str(tree)], scripts)]
    return projects, said(compose), found, said(scripts)


def test_link_to_a_sibling_outside_the_tree(tree):
    os.symlink("../../sibling", tree / "stack" / "elsewhere")
    skipped = [("warning", "symlink-outside-tree", "elsewhere")]
    assert walked(tree) == (["stack"], skipped, ["stack/run.sh"], skipped)
    diagnostics = []
    discover([str(tree)], diagnostics)
    assert os.path.realpath(tree.parent / "sibling") in diagnostics[0].message


def test_link_loops(tree):
    os.symlink("..", tree / "stack" / "up")                  # to the directory holding it
    os.symlink("b", tree / "stack" / "a")                    # a -> b -> a: no directory
    os.symlink("a", tree / "stack" / "b")
    skipped = [("warning", "symlink-loop", "up")]
    assert walked(tree) == (["stack"], skipped, ["stack/run.sh"], skipped)


def test_link_inside_the_tree_audits_the_project_once(tree):
    os.symlink("stack", tree / "alias")
    noted = [("info", "symlink-inside-tree", "alias")]
    assert walked(tree) == (["stack"], noted, ["stack/run.sh"], noted)


def test_a_named_link_is_followed(tree):
    # The user named it: that is the tree, wherever it points.
    os.symlink(tree.parent / "sibling", tree.parent / "named")
    diagnostics = []
    assert len(discover([str(tree.parent / "named")], diagnostics)) == 1
    assert diagnostics == []


@pytest.mark.parametrize("command", [["audit"], ["scripts", "--no-shellcheck"]])
def test_link_to_the_filesystem_root(tree, command):
    # Before, `audit` walked the whole filesystem: the run is bounded by the guard.
    os.symlink("/", tree / "stack" / "root")
    try:
        done = subprocess.run([sys.executable, "-m", "labwarden", *command, str(tree),
                               "--format", "json"], capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail("the walk left the tree")
    report = json.loads(done.stdout)
    assert [(d["code"], d["location"]["path"]) for d in report["diagnostics"]
            if d["level"] != "gap"] == [("symlink-outside-tree", str(tree / "stack" / "root"))]
    assert report["summary"]["files_scanned"] >= 1


def test_exists_and_lexists_answer_as_os_path_does(tmp_path):
    """Discovery asks whether an override file or a `.env` is there with access(F_OK) rather
    than os.path's stat() (cheaper when the answer is no): the answers must be the same,
    links and broken links included."""
    from labwarden.sources._walk import exists, lexists

    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    os.symlink(tmp_path / "file", tmp_path / "link")
    os.symlink(tmp_path / "gone", tmp_path / "broken")
    os.symlink(tmp_path / "loop", tmp_path / "loop")
    cases = ["file", "dir", "link", "broken", "loop", "missing", "file/under-a-file", "dir/.."]
    for name in cases:
        path = str(tmp_path / name)
        assert (exists(path), lexists(path)) == (os.path.exists(path), os.path.lexists(path)), name
    assert (exists("bad\0path"), lexists("bad\0path")) == (False, False)
    assert [exists(str(tmp_path / n)) for n in ("link", "broken")] == [True, False]
    assert [lexists(str(tmp_path / n)) for n in ("broken", "loop")] == [True, True]
