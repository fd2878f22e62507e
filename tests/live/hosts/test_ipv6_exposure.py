"""Docker-published ports reachable over IPv6 (issue 15): docker-proxy on [::], ip6tables
accepting on INPUT, a global IPv6 address; DOCKER-USER (IPv4) dropping the port does not
help. Judged from the real-format fixture in tests/rules/fixtures/NET103."""

from __future__ import annotations

from pathlib import Path

from labwarden.model import Severity
from labwarden.rules import registry
from labwarden.settings import Settings
from labwarden.sources.live.host import HostExposure, facts_from_yaml

FIXTURE = Path(__file__).parents[2] / "rules" / "fixtures" / "NET103" / "facts.yaml"


def net103(target: str):
    (exposure,) = [f for f in facts_from_yaml(str(FIXTURE))
                   if isinstance(f, HostExposure) and f.host.target == target]
    (rule,) = [r for r in registry.rules_for(HostExposure) if r.id == "NET103"]
    return list(rule.check(exposure, Settings()))


def test_ipv6_through_docker_proxy_is_reported_although_docker_user_drops_ipv4():
    (hit,) = net103("snapshot:docker-v6")
    assert hit.severity == Severity.CRITICAL                  # PostgreSQL
    assert "reachable over IPv6 at 2a01:4f8:c17:2b4e::1" in hit.message
    assert "docker-proxy listens on [::]:5432" in hit.message
    assert "DOCKER-USER filters IPv4 only" in hit.message


def test_ipv6_dropped_on_input_or_no_global_address_is_not():
    assert net103("snapshot:docker-v6-dropped") == []
    assert net103("snapshot:docker-v6-link-local-only") == []


def test_rootless_publishing_is_judged_over_ipv6_too():
    """Rootless Docker forwards through rootlesskit, which listens on [::] as well: with
    IPv4's INPUT dropping the port and ip6tables accepting it, it is reachable over IPv6."""
    (hit,) = net103("snapshot:rootless-v6")
    assert "the input path over IPv6 at 2a01:4f8:c17:2b4e::20 ([::]:8080) accepts it" in \
        hit.message
    assert net103("snapshot:rootless-v6-dropped") == []
