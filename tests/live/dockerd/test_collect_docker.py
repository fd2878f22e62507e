"""`labwarden collect` on a Docker host (the session's real dockerd, see conftest.py): the
snapshot holds `docker inspect` of every container and image with the environment's keys
and none of its values, and `snapshot:` (directory or tarball) reads the same containers
as the Engine API."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tarfile

import pytest

from labwarden.sources.docker.fact import Container
from labwarden.sources.live.collect import ProbeOptions
from labwarden.sources.live.targets import parse_target

from .conftest import IMAGE, IMAGE_VALUE

VALUE = "collect-canary-value-71c3"


@pytest.fixture(scope="module")
def running(engine):
    engine.cli("run", "-d", "--name", "collect-app", "--network", "none",
               "-e", f"DB_PASSWORD={VALUE}", "-e", "MODE=prod", IMAGE)
    yield engine
    engine.cli("rm", "-f", "collect-app", check=False)


def containers(target: str) -> dict[str, tuple]:
    from labwarden.sources.live.docker import probe

    facts = asyncio.run(probe(parse_target(target), ProbeOptions()))
    return {f.name: (f.id, f.env_keys, f.image_tags, f.privileged)
            for f in facts if isinstance(f, Container)}


@pytest.mark.parametrize("output", ["snap", "snap.tar.gz"])
def test_collect_keeps_the_containers_and_drops_their_values(running, tmp_path, output):
    done = subprocess.run([sys.executable, "-m", "labwarden", "collect", "--output",
                           str(tmp_path / output)], env=running.env, capture_output=True,
                          text=True, timeout=180, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    path = tmp_path / output
    if output.endswith(".tar.gz"):
        with tarfile.open(path) as archive:
            saved = {m.name: archive.extractfile(m).read() for m in archive if m.isfile()}
    else:
        saved = {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*")
                 if p.is_file()}
    assert {"docker-inspect.json", "docker-image-inspect.json"} <= set(saved)
    assert b"DB_PASSWORD" in saved["docker-inspect.json"]
    for data in saved.values():
        assert VALUE.encode() not in data and IMAGE_VALUE.encode() not in data
    from_snapshot = containers(f"snapshot:{path}")
    assert from_snapshot == containers(running.url)
    assert {"DB_PASSWORD", "MODE"} <= set(from_snapshot["collect-app"][1])
