"""NET008's address logic: which two bindings of one host port Docker cannot both make."""

from __future__ import annotations

import pytest

from labwarden.model import Location
from labwarden.rules.exposure import _clash
from labwarden.sources.compose.model import PortRef

HERE = Location("compose.yaml", 1)


def _ref(ip: str, asset: str, profiles: tuple[str, ...] = ()) -> PortRef:
    return PortRef(ip, 8080, 8080, "tcp", HERE, asset, profiles)


@pytest.mark.parametrize("a, b, clash", [
    ("", "", True),                          # both on every interface
    ("", "127.0.0.1", True),                 # every interface includes loopback
    ("", "::1", True),
    ("0.0.0.0", "192.168.1.5", True),        # IPv4 wildcard meets any IPv4 address
    ("0.0.0.0", "::1", False),               # but not an IPv6 one
    ("::", "fd00::5", True),
    ("::", "127.0.0.1", False),
    ("0.0.0.0", "::", False),                # one family each
    ("127.0.0.1", "127.0.0.1", True),
    ("127.0.0.1", "192.168.1.5", False),
])
def test_addresses_that_meet(a, b, clash):
    assert _clash(_ref(a, "compose:one/web"), _ref(b, "compose:two/app")) is clash


def test_one_service_and_disjoint_profiles_of_one_project_do_not_clash():
    assert not _clash(_ref("", "compose:one/web"), _ref("", "compose:one/web"))
    assert not _clash(_ref("", "compose:one/a", ("prod",)), _ref("", "compose:one/b", ("dev",)))
    assert _clash(_ref("", "compose:one/a", ("prod",)), _ref("", "compose:two/b", ("dev",)))
    assert _clash(_ref("", "compose:one/a", ("prod",)), _ref("", "compose:one/b", ("prod", "x")))
