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
