"""The Docker source's parts that need no engine: the read-only command allow-list, target
and inventory addresses, environment values dropped at parse time, and the pairing of real
Compose projects (loaded by the Compose loader) with containers as `docker inspect` shows
them. The engine itself is exercised in tests/live/dockerd."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from labwarden.config import ConfigError, load_config
from labwarden.inventory import load_inventory
from labwarden.sources.compose.discover import discover
from labwarden.sources.compose.loader import LoadOptions, load_project
from labwarden.sources.docker.drift import compare, deployments, pair
from labwarden.sources.docker.fact import (
    BASE_IMAGE,
    BASE_INSPECT,
    DockerEngine,
    merged,
    parse_container,
)
from labwarden.sources.docker.intent import intent_of
from labwarden.sources.live.targets import TargetError, parse_target
from labwarden.sources.live.transport import CommandRefused, LocalTransport, check_command

ID = "a" * 64


def test_only_listing_and_inspecting_by_full_id_are_allowed():
    check_command(["docker", "ps", "-a", "-q", "--no-trunc"])
    check_command(["docker", "inspect", "--type", "container", ID, "b" * 64])
    check_command(["docker", "image", "inspect", "sha256:" + "c" * 64])
    for argv in (["docker", "run", "alpine"], ["docker", "exec", ID, "sh"],
                 ["docker", "inspect", "--type", "container", "web"],       # a name: no
                 ["docker", "inspect", "--type", "container", ID, "--format", "{{.}}"],
                 ["docker", "image", "inspect", "nginx:latest"],
                 ["docker", "ps"], ["docker", "inspect", "--type", "container"]):
        with pytest.raises(CommandRefused):
            check_command(argv)


def test_docker_targets_parse_and_bad_ones_are_usage_errors():
    assert parse_target("docker+unix:///run/docker.sock").path == "unix:///run/docker.sock"
    assert parse_target("docker+tcp://127.0.0.1:2375").path == "tcp://127.0.0.1:2375"
    for bad in ("docker+unix://relative.sock", "docker+tcp://", "docker+npipe:////./pipe/x",
                "docker+tcp://127.0.0.1:99999"):
        with pytest.raises(TargetError):
            parse_target(bad)


def test_a_host_without_docker_is_no_error(monkeypatch):
    from labwarden.sources.docker.engine import collect_transport

    monkeypatch.setenv("PATH", "/nonexistent")      # sbin dirs are added: no docker there
    target = parse_target("local://")

    async def run():
        async with LocalTransport(timeout=5) as transport:
            return await collect_transport(target, transport, "local")

    assert asyncio.run(run()) == []


def test_an_inventory_host_may_name_its_engine(tmp_path: Path):
    (tmp_path / "labwarden.yaml").write_text(
        "hosts:\n  nas: {docker: \"docker+unix:///run/docker.sock\"}\n")
    inventory = load_inventory(load_config(str(tmp_path / "labwarden.yaml")))
    assert inventory.hosts["nas"].docker == "docker+unix:///run/docker.sock"
    (tmp_path / "labwarden.yaml").write_text("hosts:\n  nas:\n    docker: /run/docker.sock\n")
    with pytest.raises(ConfigError, match=r"labwarden.yaml:3.*docker must be a Docker Engine"):
        load_inventory(load_config(str(tmp_path / "labwarden.yaml")))


def test_environment_values_are_dropped_when_a_container_is_parsed():
    inspect = merged(BASE_INSPECT, {"Config": {
        "Env": ["DB_PASSWORD=hunter2-hunter2", "EMPTY=", "NOVALUE"],
        "Labels": {"traefik.http.middlewares.a.basicauth.users": "admin:$apr1$x$hash"},
        "Healthcheck": {"Test": ["CMD-SHELL", "curl -u admin:s3cret http://localhost"]},
        "Cmd": ["--password", "hunter2-hunter2"]}})
    container = parse_container(inspect, BASE_IMAGE, engine="e", target="docker:")
    assert container.env_keys == ("DB_PASSWORD", "EMPTY", "NOVALUE")
    assert container.healthcheck == "CMD-SHELL"
    text = repr(container)
    for value in ("hunter2", "s3cret", "apr1", "basicauth"):
        assert value not in text


# -- pairing real Compose projects with containers ------------------------------------------

def _services(directory: Path) -> list:
    services = []
    for spec in discover([str(directory)], []):
        project = load_project(spec, [], LoadOptions())
        services.extend(project.services.values())
    return services


def _container(name: str, project: str | None, service: str | None, change: dict | None = None,
               image: dict | None = None, working_dir: str = "/srv/shop"):
    labels = {"com.docker.compose.project": project, "com.docker.compose.service": service,
              "com.docker.compose.project.working_dir": working_dir}
    inspect = merged(merged(BASE_INSPECT, {"Name": f"/{name}", "Id": name.encode().hex()[:64]
                                           .ljust(64, "0"), "Config": {"Labels": labels}}),
                     change or {})
    return parse_container(inspect, merged(BASE_IMAGE, image or {}), engine="e",
                           target="docker:")


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    directory = tmp_path / "shop"
    directory.mkdir()
    (directory / "compose.yaml").write_text("""\
name: shop
services:
  web:
    image: ghcr.io/example/app:1.4
    ports: ["127.0.0.1:8080:8080", "9000-9001:9000-9001"]
    volumes: ["./data:/data:ro", "~/cache:/cache"]
    environment: [APP_PORT=8080, FROM_SHELL]
    secrets: [token]
  pinned:
    image: ghcr.io/example/app@sha256:%s
  debug:
    image: ghcr.io/example/app:1.4
    profiles: [debug]
secrets:
  token: {file: ./token.txt}
""" % ("2" * 64))
    return directory


def _web_container(**change):
    base = {"HostConfig": {"PortBindings": {
        "8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
        "9000/tcp": [{"HostIp": "", "HostPort": "9000"}],
        "9001/tcp": [{"HostIp": "0.0.0.0", "HostPort": "9001"}]}},
        "Mounts": [{"Type": "bind", "Source": "/srv/shop/data", "Destination": "/data",
                    "RW": False},
                   {"Type": "bind", "Source": "/home/ops/cache", "Destination": "/cache",
                    "RW": True},
                   {"Type": "bind", "Source": "/srv/shop/token.txt",
                    "Destination": "/run/secrets/token", "RW": False}]}
    return _container("shop-web-1", "shop", "web", merged(base, change))


def test_a_container_that_matches_its_file_shows_no_drift(shop: Path):
    intents = {i.service: i for i in map(intent_of, _services(shop))}
    assert intents["web"].project == "shop"
    assert compare(intents["web"], _web_container()) == []


def test_drift_in_ports_mounts_image_and_environment_keys(shop: Path):
    intents = {i.service: i for i in map(intent_of, _services(shop))}
    drifted = _web_container(
        HostConfig={"PortBindings": {"8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}},
        Mounts=[{"Type": "bind", "Source": "/srv/other", "Destination": "/data", "RW": True}],
        Config={"Image": "ghcr.io/example/app:1.5",
                "Env": ["PATH=/usr/bin:/bin", "EXTRA_TOKEN=x"]})
    found = {d.aspect: d for d in compare(intents["web"], drifted)}
    assert set(found) == {"image", "ports", "mounts", "environment"}
    assert "8080:8080" in found["ports"].text and "127.0.0.1:8080:8080" in found["ports"].text
    assert found["ports"].location.path.endswith("compose.yaml")
    assert found["ports"].location.line == 5
    texts = [d.text for d in compare(intents["web"], drifted) if d.aspect == "mounts"]
    assert any("/srv/other" in t and "/srv/shop/data" in t for t in texts)
    assert any("writable in the container" in t for t in texts)
    env = [d.text for d in compare(intents["web"], drifted) if d.aspect == "environment"]
    assert any("EXTRA_TOKEN" in t for t in env) and any("APP_PORT" in t for t in env)
    assert not any("FROM_SHELL" in t for t in env)   # `- KEY` without value: optional


def test_a_pinned_digest_is_compared_with_the_running_images_digests(shop: Path):
    intents = {i.service: i for i in map(intent_of, _services(shop))}
    same = _container("shop-pinned-1", "shop", "pinned")   # runs ...@sha256:222…
    assert [d for d in compare(intents["pinned"], same) if d.aspect == "image"] == []
    other = _container("shop-pinned-1", "shop", "pinned",
                       image={"RepoDigests": ["ghcr.io/example/app@sha256:" + "9" * 64]})
    images = [d for d in compare(intents["pinned"], other) if d.aspect == "image"]
    assert len(images) == 1 and "another digest" in images[0].text


def test_pairing_marks_orphans_and_other_projects_and_skips_profiles(shop: Path):
    intents = list(map(intent_of, _services(shop)))
    engine = DockerEngine("docker:", "e")
    containers = [_web_container(), _container("shop-old-1", "shop", "old"),
                  _container("blog-app-1", "blog", "app"), _container("manual", None, None)]
    found = {d.intent.service: d for d in pair(engine, containers, intents)}
    assert set(found) == {"web", "pinned"}            # debug's profile is not switched on
    assert found["pinned"].containers == []
    assert [c.paired for c in containers] == ["service", "orphan", "unaudited", None]


def test_the_inventory_places_a_project_with_no_container_on_its_host(shop: Path,
                                                                        tmp_path: Path):
    (tmp_path / "labwarden.yaml").write_text(
        "services:\n  shop: {compose: shop, host: nas}\n"
        "hosts:\n  nas: {docker: \"docker+unix:///run/docker.sock\"}\n")
    config = load_config(str(tmp_path / "labwarden.yaml"))
    engine = DockerEngine("docker+unix:///run/docker.sock", "nas")
    found = deployments([engine], lambda: _services(shop), config)
    assert sorted(d.intent.service for d, _ in found) == ["pinned", "web"]
    assert all(d.expected == "inventory" for d, _ in found)
    elsewhere = DockerEngine("docker+unix:///other.sock", "other")
    assert deployments([elsewhere], lambda: _services(shop), config) == []


def test_belongs_to_uses_the_name_compose_gives_the_project(shop: Path):
    from labwarden.inventory import InventoryService
    from labwarden.model import Location

    service = InventoryService("shop-app", Location("labwarden.yaml", 1), compose=str(shop))
    assert _web_container().belongs_to(service)       # `name: shop`, not the directory
    assert not _container("blog-app-1", "blog", "app").belongs_to(service)
    service.compose_services = ("pinned",)
    assert not _web_container().belongs_to(service)
    bare = InventoryService("manual", Location("labwarden.yaml", 1))
    assert _container("manual", None, None).belongs_to(bare)
