"""Image references reduced to what rules compare, and the search that rules images out."""

from __future__ import annotations

import pytest

from labwarden.knowledge.images import matches, name_search

PROXIES = ("jc21/nginx-proxy-manager", "traefik", "library/caddy")


@pytest.mark.parametrize("image", [
    "traefik:v3.1", "docker.io/library/traefik", "registry.lan:5000/mirror/traefik@sha256:ab",
    "JC21/Nginx-Proxy-Manager:latest", "caddy", "ghcr.io/x/caddy:2",
])
def test_an_image_of_the_candidates_is_found_by_the_search(image: str) -> None:
    assert matches(image, PROXIES)
    assert name_search(PROXIES).search(image.lower()) is not None


@pytest.mark.parametrize("image", ["nginx:1.27", "postgres:16", "grafana/grafana-oss"])
def test_an_image_the_search_rules_out_matches_none(image: str) -> None:
    assert name_search(PROXIES).search(image.lower()) is None
    assert not matches(image, PROXIES)


@pytest.mark.parametrize("image, expected", [
    ("jc21/nginx-proxy-manager:2.12", True),
    ("registry.lan/jc21/nginx-proxy-manager", True),
    ("other/nginx-proxy-manager", False),       # a slash names the whole repository
    ("nginx-proxy-manager", False),
    ("mirror/traefik", True),                   # a name alone is the last component
    ("traefik-forward-auth", False),
    ("", False), (None, False),
])
def test_a_candidate_with_a_slash_names_the_whole_repository(image, expected) -> None:
    assert matches(image, PROXIES) is expected
    assert matches(image, list(PROXIES)) is expected    # any iterable of candidates
