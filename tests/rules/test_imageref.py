"""Image reference parsing and registry allow-list matching (labwarden.knowledge.imageref)."""

from __future__ import annotations

import pytest

from labwarden.knowledge.imageref import (
    ImageRef, is_channel_tag, is_private_registry, normalise_registry_entry, parse_image,
    registry_allowed)
from labwarden.settings import DEFAULT_TRUSTED_REGISTRIES

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize("text, registry, repository, tag, digest", [
    ("nginx", "docker.io", "library/nginx", None, None),
    ("nginx:1.27", "docker.io", "library/nginx", "1.27", None),
    ("nginx:latest", "docker.io", "library/nginx", "latest", None),
    ("vaultwarden/server:1.32.0", "docker.io", "vaultwarden/server", "1.32.0", None),
    ("docker.io/library/nginx:1.27", "docker.io", "library/nginx", "1.27", None),
    ("docker.io/nginx", "docker.io", "library/nginx", None, None),
    ("index.docker.io/library/nginx", "docker.io", "library/nginx", None, None),
    ("registry-1.docker.io/bitnami/redis:7.4", "docker.io", "bitnami/redis", "7.4", None),
    ("ghcr.io/immich-app/immich-server:v1.118.2", "ghcr.io", "immich-app/immich-server",
     "v1.118.2", None),
    ("lscr.io/linuxserver/sonarr", "lscr.io", "linuxserver/sonarr", None, None),
    ("registry.local:5000/app", "registry.local:5000", "app", None, None),
    ("registry.local:5000/team/app:2.0", "registry.local:5000", "team/app", "2.0", None),
    ("localhost/app:1", "localhost", "app", "1", None),
    ("localhost:5000/app", "localhost:5000", "app", None, None),
    ("[::1]:5000/app:1", "[::1]:5000", "app", "1", None),
    ("Registry.Example.COM/app:1", "registry.example.com", "app", "1", None),
    ("quay.io/a/b/c:tag_1-x.y", "quay.io", "a/b/c", "tag_1-x.y", None),
    (f"nginx@{DIGEST}", "docker.io", "library/nginx", None, DIGEST),
    (f"nginx:latest@{DIGEST}", "docker.io", "library/nginx", "latest", DIGEST),
    (f"registry.local:5000/app@{DIGEST}", "registry.local:5000", "app", None, DIGEST),
    ("  nginx:1.27  ", "docker.io", "library/nginx", "1.27", None),
])
def test_parse_image(text, registry, repository, tag, digest):
    ref = parse_image(text)
    assert ref == ImageRef(registry, repository, tag, digest, ref.explicit_registry)


@pytest.mark.parametrize("text", [
    "", "   ", None, 5, ["nginx"],
    "app:",                  # app:${TAG} with TAG unset
    "/app:1.0",              # ${REGISTRY}/app with REGISTRY unset
    "ghcr.io/",              # ghcr.io/${IMAGE}
    "nginx@",                # nginx@${DIGEST}
    "nginx@sha256:",         # an empty digest
    "nginx@sha256:xyz",      # not hex
    "Nginx:1.0",             # Docker refuses capitals in a repository
    "nginx 1.0",
    "mattermost/:",
    ":5000/app",
])
def test_parse_image_refuses_malformed(text):
    assert parse_image(text) is None


def test_explicit_registry_and_names():
    assert parse_image("nginx").explicit_registry is False
    assert parse_image("nginx").name == "nginx"
    assert parse_image("docker.io/library/nginx").explicit_registry is True
    assert parse_image("docker.io/library/nginx").name == "docker.io/library/nginx"
    assert parse_image("grafana/grafana:11.2.0").name == "grafana/grafana"
    assert parse_image("registry.local:5000/app").name == "registry.local:5000/app"
    assert parse_image("registry.local:5000/app").host == "registry.local"
    assert parse_image("[::1]:5000/app").host == "[::1]"
    assert parse_image("ghcr.io/x/y").host == "ghcr.io"


@pytest.mark.parametrize("tag, channel", [
    ("latest", True), ("LATEST", True), ("latest-alpine", True), ("frontend-latest", True),
    ("stable", True), ("stable-alpine", True), ("alpine", True), ("lts", True),
    ("lts-community", True), ("main", True), ("develop", True), ("release", True),
    ("nightly", True), ("fpm-alpine", True), ("slim", True),
    ("1.27", False), ("16.4-alpine", False), ("v1.118.2", False), ("3-alpine", False),
    ("bookworm-slim", False), ("umbrel", False), ("alpine-extra", False),
    ("2024.10.1", False), ("release-2.1", False), ("sha-1a2b3c", False),
])
def test_channel_tags(tag, channel):
    assert is_channel_tag(tag) is channel


def test_floating():
    assert parse_image("nginx").floating
    assert parse_image("nginx:latest").floating
    assert parse_image("nginx:alpine").floating
    assert not parse_image("nginx:1.27").floating
    assert not parse_image(f"nginx@{DIGEST}").floating
    assert not parse_image(f"nginx:latest@{DIGEST}").floating
    assert parse_image("registry.local:5000/app").floating        # :5000 is a port


@pytest.mark.parametrize("image, allowed", [
    ("nginx:1.27", True),
    ("docker.io/library/nginx:1.27", True),
    ("index.docker.io/library/nginx:1.27", True),
    ("ghcr.io/immich-app/immich-server:v1", True),
    ("lscr.io/linuxserver/sonarr:4", True),
    ("eu.gcr.io/project/app:1", True),           # a subdomain of gcr.io
    ("evilgcr.io/project/app:1", False),         # not a subdomain
    ("ghcr.io.evil.com/app:1", False),
    ("registry.rocket.chat/rocketchat/rocket.chat:6", False),
    ("localhost:5000/app:1", False),
])
def test_default_allow_list(image, allowed):
    assert registry_allowed(parse_image(image), DEFAULT_TRUSTED_REGISTRIES) is allowed


def test_custom_allow_list_ports_and_paths():
    allowed = ("registry.home.lan", "registry.example.com:5000", "ghcr.io/linuxserver",
               "https://Index.Docker.IO/library/", "")
    assert registry_allowed(parse_image("registry.home.lan:5000/app:1"), allowed)
    assert registry_allowed(parse_image("registry.home.lan/app:1"), allowed)
    assert registry_allowed(parse_image("registry.example.com:5000/app:1"), allowed)
    assert not registry_allowed(parse_image("registry.example.com:5001/app:1"), allowed)
    assert not registry_allowed(parse_image("registry.example.com/app:1"), allowed)
    assert registry_allowed(parse_image("ghcr.io/linuxserver/sonarr:4"), allowed)
    assert not registry_allowed(parse_image("ghcr.io/linuxserverx/sonarr:4"), allowed)
    assert not registry_allowed(parse_image("ghcr.io/hotio/sonarr:4"), allowed)
    assert registry_allowed(parse_image("nginx:1"), allowed)            # docker.io/library
    assert not registry_allowed(parse_image("someone/nginx:1"), allowed)
    assert not registry_allowed(parse_image("nginx:1"), ())


def test_normalise_registry_entry():
    assert normalise_registry_entry(" https://Index.Docker.io/ ") == "docker.io"
    assert normalise_registry_entry("registry.local:5000") == "registry.local:5000"
    assert normalise_registry_entry("ghcr.io/Org/") == "ghcr.io/org"


@pytest.mark.parametrize("image, private", [
    ("localhost:5000/app", True), ("registry:5000/app", True), ("10.0.0.5:5000/app", True),
    ("192.168.1.10/app", True), ("registry.lan/app", True), ("nas.home.arpa:5000/app", True),
    ("registry.local/app", True), ("[::1]:5000/app", True),
    ("registry.rocket.chat/app", False), ("8.8.8.8:5000/app", False), ("ghcr.io/a/b", False),
])
def test_private_registry(image, private):
    assert is_private_registry(parse_image(image)) is private
