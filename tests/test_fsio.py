"""The one writer (`labwarden.fsio`): locked, re-read under the lock, atomic, mode kept, and
paths checked to stay in their folder."""

from __future__ import annotations

import multiprocessing
import os
import stat
import threading
from pathlib import Path

import pytest

from labwarden import fsio


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


# --- replacing ------------------------------------------------------------------------

@pytest.mark.parametrize("original", [0o644, 0o640, 0o600, 0o664])
def test_replace_keeps_the_original_mode(tmp_path: Path, original: int) -> None:
    target = tmp_path / "attestations.yaml"
    target.write_text("old\n")
    target.chmod(original)
    with fsio.locked(str(target)):
        fsio.replace(str(target), "new\n")
    assert target.read_text() == "new\n"
    assert mode(target) == original
    assert leftovers(tmp_path) == []          # neither the temporary file nor the lock


def test_a_new_file_gets_the_mode_open_would_give_it(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        target = tmp_path / "new.yaml"
        fsio.update(str(target), lambda text: "x: 1\n")
    finally:
        os.umask(previous)
    assert mode(target) == 0o640           # not mkstemp's 0600


def test_update_passes_the_current_text_and_none_leaves_the_file_alone(tmp_path) -> None:
    target = tmp_path / "f.yaml"
    seen = []
    assert fsio.update(str(target), lambda text: seen.append(text)) is None
    assert not target.exists() and seen == [None]
    target.write_text("a\n")
    fsio.update(str(target), lambda text: text + "b\n")
    assert target.read_text() == "a\nb\n"


def test_a_failed_check_keeps_the_original_and_leaves_nothing_behind(tmp_path) -> None:
    target = tmp_path / "labwarden.yaml"
    target.write_text("good\n")

    def refuse(temporary: str) -> None:
        assert Path(temporary).read_text() == "bad\n"     # the check reads the real bytes
        raise ValueError("does not load back")

    with pytest.raises(ValueError), fsio.locked(str(target)):
        fsio.replace(str(target), "bad\n", check=refuse)
    assert target.read_text() == "good\n"
    assert leftovers(tmp_path) == []


def test_a_write_that_fails_midway_leaves_the_original(tmp_path, monkeypatch) -> None:
    target = tmp_path / "record.md"
    target.write_text("complete record\n")

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(fsio.WriteRefused, match="No space left"):
        fsio.replace(str(target), "half")
    assert target.read_text() == "complete record\n"
    assert leftovers(tmp_path) == []


def test_create_never_replaces_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "n8n-20270101.md"
    assert fsio.create(str(target), "first\n")
    assert not fsio.create(str(target), "second\n")
    assert target.read_text() == "first\n"
    assert fsio.create(str(target), "third\n", overwrite=True)
    assert target.read_text() == "third\n"
    assert leftovers(tmp_path) == []


def test_only_a_regular_file_is_read_and_a_fifo_is_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "attestations.yaml"
    os.mkfifo(fifo)
    outcome = []

    def read() -> None:
        try:
            fsio.read_text(str(fifo))
        except fsio.WriteRefused as exc:
            outcome.append(str(exc))

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(timeout=30)                 # a guard: it used to block forever
    assert not worker.is_alive()
    assert outcome and "not a regular file" in outcome[0]


# --- locking --------------------------------------------------------------------------

def test_a_held_lock_makes_another_writer_give_up_with_a_clear_error(tmp_path) -> None:
    target = tmp_path / "attestations.yaml"
    with fsio.locked(str(target)):
        with pytest.raises(fsio.WriteRefused) as refused:
            with fsio.locked(str(target), timeout=0.1):
                pass
    assert "attestations.yaml" in str(refused.value) and "nothing written" in str(refused.value)
    assert leftovers(tmp_path) == []        # the lock file goes with the lock


def _append_lines(path: str, worker: int, count: int) -> None:
    for n in range(count):
        fsio.update(path, lambda text: (text or "") + f"{worker}-{n}\n")


def test_parallel_writers_lose_no_update(tmp_path: Path) -> None:
    target = tmp_path / "shared.yaml"
    target.write_text("")
    target.chmod(0o644)
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_lines, args=(str(target), w, 25))
               for w in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert all(w.exitcode == 0 for w in workers)
    lines = target.read_text().splitlines()
    assert sorted(lines) == sorted(f"{w}-{n}" for w in range(8) for n in range(25))
    assert mode(target) == 0o644
    assert leftovers(tmp_path) == []


# --- where ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["../x", "../../x", "..", ".", "/tmp/x", "a/b", "a/../../x",
                                  "x\0y", ""])
def test_a_name_that_could_leave_its_folder_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(fsio.WriteRefused):
        fsio.child(str(tmp_path / "records"), name)


def test_a_plain_name_stays_in_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "records"
    assert fsio.child(str(folder), "n8n-20270101.md") == str(folder.resolve() /
                                                               "n8n-20270101.md")


def test_a_final_symlink_that_leads_out_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "records"
    folder.mkdir()
    outside = tmp_path / "elsewhere.md"
    (folder / "n8n-20270101.md").symlink_to(outside)
    with pytest.raises(fsio.WriteRefused, match="leads to"):
        fsio.child(str(folder), "n8n-20270101.md")
    (folder / "inside.md").symlink_to(folder / "real.md")
    assert fsio.child(str(folder), "inside.md") == str((folder / "real.md").resolve())


def test_a_directory_symlink_that_leads_out_is_refused(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "escape").symlink_to(tmp_path / "outside", target_is_directory=True)
    with pytest.raises(fsio.WriteRefused, match="outside"):
        fsio.inside(str(tree), str(tree / "escape" / "compose.yaml"))
    assert fsio.inside(str(tree), str(tree / "app" / "compose.yaml"))


# --- numbered files (deployment records) ----------------------------------------------

def test_create_numbered_adds_the_next_number_and_never_replaces(tmp_path: Path) -> None:
    records = tmp_path / "records"
    first = fsio.create_numbered(str(records), "n8n-20270101", ".md", "one\n")
    second = fsio.create_numbered(str(records), "n8n-20270101", ".md", "two\n")
    assert Path(first).name == "n8n-20270101.md" and Path(second).name == "n8n-20270101-2.md"
    # A removed record leaves a gap that is not reused: numbers stay in the order written.
    Path(first).unlink()
    third = fsio.create_numbered(str(records), "n8n-20270101", ".md", "three\n")
    assert Path(third).name == "n8n-20270101-3.md"
    # Another service's record whose name starts the same is not counted.
    (records / "n8n-20270101-20270101.md").write_text("other\n")
    assert Path(fsio.create_numbered(str(records), "n8n-20270101", ".md", "4\n")).name \
        == "n8n-20270101-4.md"
    assert [Path(p).read_text() for p in (second, third)] == ["two\n", "three\n"]
    assert leftovers(records) == []


def _create_numbered_at_once(folder: str, start, worker: int) -> None:
    start.wait()
    fsio.create_numbered(folder, "web-20270101", ".md", f"record of worker {worker}\n")


def test_archives_at_the_same_moment_get_a_file_each(tmp_path: Path) -> None:
    records = tmp_path / "records"
    records.mkdir()
    context = multiprocessing.get_context("fork")
    start = context.Barrier(8)
    workers = [context.Process(target=_create_numbered_at_once,
                               args=(str(records), start, w)) for w in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0] * 8
    names = sorted(p.name for p in records.iterdir())
    assert names == sorted(["web-20270101.md"] + [f"web-20270101-{n}.md" for n in range(2, 9)])
    contents = sorted(p.read_text() for p in records.iterdir())
    assert contents == sorted(f"record of worker {w}\n" for w in range(8))   # none lost


def test_create_numbered_refuses_a_name_that_leaves_its_folder(tmp_path: Path) -> None:
    with pytest.raises(fsio.WriteRefused):
        fsio.create_numbered(str(tmp_path / "records"), "../escaped", ".md", "x\n")
    assert list(tmp_path.rglob("*")) == []
