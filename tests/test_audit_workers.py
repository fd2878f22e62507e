"""What a worker process sends its parent comes back as it was: findings field by field,
their fingerprints (hashed in the worker, not again in the parent) and diagnostics."""

from __future__ import annotations

from pathlib import Path

from labwarden.audit.compose import AuditOptions, _audit_specs, _receive, _send
from labwarden.model import Location
from labwarden.sources.compose.discover import discover

STACK = """services:
  db:
    image: postgres:16
    container_name: db
    privileged: true
    ports: ["5432:5432"]
    environment:
      POSTGRES_PASSWORD: correct-horse-battery
  web:
    image: nginx
    volumes: ["/var/run/docker.sock:/var/run/docker.sock"]
  proxy:
    image: traefik:v3.1
    ports: ["80:80"]
    labels:
      # labwarden: ignore[PRX001] on the LAN only
      - traefik.http.routers.web.rule=Host(`web.lan`)
"""


def test_a_workers_share_comes_back_as_it_was(tmp_path: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "compose.yaml").write_text(STACK)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "compose.yaml").write_text("services: [\n")
    partial = _audit_specs(discover([str(tmp_path)], []), AuditOptions())
    expected = [(f._values(), f.fingerprint) for f in partial.findings]
    diagnostics = list(partial.diagnostics)
    assert len(expected) > 5 and diagnostics

    others = {name: getattr(partial, name) for name in
              ("containers", "ports", "workloads", "proxies", "markers")}
    assert all(others.values()) and any(others["markers"].values())

    received = _receive(_send(partial))
    # The other records cross as they were (their classes pickle through their __init__).
    assert {name: getattr(received, name) for name in others} == others
    # Locations travel as plain tuples (equal to a Location): they come back as Locations.
    places = [f.location for f in received.findings] + [d.location for d in received.diagnostics]
    places += [w.location for w in received.workloads] + [r.location for r in received.ports]
    assert places and all(type(place) is Location for place in places)
    assert all(f._fingerprint is not None for f in received.findings)   # hashed, sent along
    assert [(f._values(), f.fingerprint) for f in received.findings] == expected
    assert received.diagnostics == diagnostics
    # The fingerprint a worker hashed belongs to the finding as it was: once what it is
    # made of changes, it is hashed again, as for any finding.
    moved = received.findings[0]
    before = moved.fingerprint
    moved.asset += "-renamed"
    assert moved.fingerprint != before
    moved.asset = moved.asset.removesuffix("-renamed")
    assert moved.fingerprint == before


def test_the_chunks_cover_every_project_once_in_order() -> None:
    """Every project is in one chunk, in order; small chunks for a large tree, so that the
    processes finish close together, and enough of them for a tree just over the limit."""
    from labwarden.audit.compose import CHUNK_MAX, MAX_CHUNKS, _chunks

    for count, jobs in ((1076, 2), (1076, 4), (48, 2), (7, 3), (0, 2), (50_000, 2)):
        chunks = _chunks(list(range(count)), jobs)
        assert sum(chunks, []) == list(range(count))
        assert all(chunks) and len(chunks) <= MAX_CHUNKS
    assert max(map(len, _chunks(list(range(1076)), 2))) == CHUNK_MAX
    assert len(_chunks(list(range(48)), 2)) >= 16


def test_the_queue_hands_out_each_chunk_once_across_processes() -> None:
    """Two processes reading the queue at once take every number once between them."""
    import os

    from labwarden.audit.compose import _queue, _take

    queue = _queue(1000)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        taken = []
        while (index := _take(queue)) is not None:
            taken.append(index)
        os.write(write_end, ",".join(map(str, taken)).encode())
        os._exit(0)
    os.close(write_end)
    mine = []
    while (index := _take(queue)) is not None:
        mine.append(index)
    with os.fdopen(read_end, "rb") as handle:
        theirs = [int(i) for i in handle.read().decode().split(",") if i]
    os.waitpid(pid, 0)
    os.close(queue)
    assert sorted(mine + theirs) == list(range(1000))
    assert mine == sorted(mine) and theirs == sorted(theirs)


def _report(root: Path, jobs: int, *paths: str) -> tuple[str, dict]:
    """The JSON report of an audit of `root` with `jobs` processes, minus its timing."""
    import json
    import re

    from labwarden.audit.compose import audit
    from labwarden.report import render

    result = audit([str(root), *paths], AuditOptions(jobs=jobs))
    text = re.sub(r'"(started|duration_s)":[^,]*,', "", render(result, "json"))
    return text, json.loads(text)


def _lab(root: Path) -> None:
    """Sixty projects (enough for the parallel path): two run Traefik, whose order decides
    which one serves the Docker labels; every one reads one shared env file; two publish
    the same host port, a clash one of them suppresses inline; one suppresses a finding on
    the route its labels make."""
    shared = root / "shared.env"
    shared.write_text("API_TOKEN=abcdefgh12345678\n")
    shared.chmod(0o644)
    for index in range(60):
        project = root / f"stack{index:02d}"
        project.mkdir()
        if index in (1, 2):
            body = ("  proxy:\n    image: traefik:v3.1\n"
                    "    command: ['--providers.docker=true', '--entrypoints.web.address=:80']\n")
        else:
            port = 8080 if index in (10, 41) else 9000 + index
            marker = "  # labwarden: ignore[NET008] moved to 8081 next week\n" if index == 41 \
                else ""
            plain = "      # labwarden: ignore[PRX001] on the LAN only\n" if index == 5 else ""
            body = (f"  app:\n    image: nginx:1.27\n    env_file: ../shared.env\n"
                    f"    ports:\n{marker}      - \"{port}:80\"\n"
                    f"    labels:\n{plain}      - traefik.http.routers.app{index}.rule="
                    f"Host(`app{index}.example.com`)\n")
        (project / "compose.yaml").write_text("services:\n" + body)


def test_the_report_is_the_same_whatever_the_number_of_processes(tmp_path: Path) -> None:
    """Chunks are merged in their order, whichever process audited them: the Traefik that
    comes first in the tree serves the labels, a file two chunks read is counted and judged
    once, as with one process."""
    _lab(tmp_path)
    one, document = _report(tmp_path, 1)
    assert _report(tmp_path, 2)[0] == one
    assert _report(tmp_path, 3)[0] == one
    routes = {f["asset"].split("/")[0] for f in document["findings"]
              if f["rule_id"].startswith("PRX")}
    assert routes == {"traefik:stack01"}, routes
    shared = [f for f in document["findings"] if f["location"]["path"].endswith("shared.env")
              and f["asset"].endswith(":shared.env")]
    assert shared and len({(f["rule_id"], f["resource"]) for f in shared}) == len(shared)
    assert document["summary"]["files_scanned"] == 61


def test_markers_the_later_stages_use_are_not_called_unused(tmp_path: Path) -> None:
    """Inline suppressions in Compose files of a clash between two projects' ports (the
    tree's rules) and of a finding on a route made from labels (the proxy stage, in another
    process with several): they suppress, and count as used."""
    _lab(tmp_path)
    for jobs in (1, 2):
        _, document = _report(tmp_path, jobs)
        clash = [f for f in document["findings"] if f["rule_id"] == "NET008"
                 and "stack41" in f["location"]["path"]]
        plain = [f for f in document["findings"] if f["rule_id"] == "PRX001"
                and "stack05" in f["location"]["path"]]
        assert clash and all(f["waived"] for f in clash), clash
        assert plain and all(f["waived"] for f in plain), plain
        assert not [d for d in document["diagnostics"] if d["code"] == "unused-suppression"]


def test_work_in_a_child_comes_back_or_is_done_here() -> None:
    import os
    import signal

    from labwarden._fork import InChild

    parent = os.getpid()
    assert InChild(os.getpid).result() != parent           # done in the child
    big = InChild(lambda: ["x" * 100_000] * 40).result()    # more than a pipe holds
    assert big == ["x" * 100_000] * 40

    def dies_in_a_child() -> int:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return 42
    assert InChild(dies_in_a_child).result() == 42           # done here instead


def test_children_whose_work_came_back_are_collected() -> None:
    """The parent does not wait for a child to be gone once its result is in (its exit
    takes milliseconds), but none is left behind as a zombie: a later result collects the
    ones that had not ended yet."""
    import os
    import time

    from labwarden._fork import InChild

    children = [InChild(os.getpid) for _ in range(3)]
    assert len({child.result() for child in children}) == 3
    time.sleep(0.2)                                       # all three have ended by now
    assert InChild(lambda: 1).result() == 1
    for child in children:
        try:
            os.waitpid(child.pid, os.WNOHANG)
        except ChildProcessError:
            continue                                      # collected already: not a zombie
        raise AssertionError(f"child {child.pid} was left uncollected")


def test_the_command_line_keeps_one_audits_worth_for_its_exit(tmp_path: Path) -> None:
    """The command line leaves with os._exit(): the audit hands it its working state instead
    of freeing it on the way out, and a caller that runs main() again frees the last one."""
    from labwarden import cli
    from labwarden.model import AuditResult

    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / "compose.yaml").write_text(STACK)
    report = tmp_path / "report.json"
    for _ in range(2):
        assert cli.main(["audit", "--format", "json", "-o", str(report),
                         str(tmp_path / "stack")]) == 1
    kept = cli._left_for_exit
    try:
        assert len(kept) == 2, kept                       # one audit's worth, not two
        specs, partials, _tree, _proxies = kept[0]
        assert [s.key for s in specs] == ["stack"] and partials[0].workloads
        assert isinstance(kept[1], AuditResult) and kept[1].findings
    finally:
        kept.clear()
