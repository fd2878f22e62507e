"""Session fixtures: real TLS servers on loopback (see tls_servers.py), started once.

A missing server binary fails the tests that need it, naming the Debian package; nothing
is skipped. Every name the tests use (weak.test, strong.test…) is pinned to 127.0.0.1 with
the probe's `resolve` option, and name resolution itself is forbidden during these tests,
so no probe can reach anything but loopback.
"""

from __future__ import annotations

import asyncio
import ipaddress
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import tls_servers


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    """Fail any connection or lookup of the probe that is not to a loopback address."""
    real = asyncio.base_events.BaseEventLoop.getaddrinfo

    async def guarded(self, host, *args, **kwargs):
        try:
            if ipaddress.ip_address(str(host).strip("[]")).is_loopback:
                return await real(self, host, *args, **kwargs)
        except ValueError:
            pass
        raise AssertionError(f"the TLS tests must not resolve {host!r}")

    monkeypatch.setattr(asyncio.base_events.BaseEventLoop, "getaddrinfo", guarded)
    real_connect = asyncio.base_events.BaseEventLoop.sock_connect

    async def connect(self, sock, address):
        assert ipaddress.ip_address(address[0]).is_loopback, address
        return await real_connect(self, sock, address)

    monkeypatch.setattr(asyncio.base_events.BaseEventLoop, "sock_connect", connect)


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> tls_servers.Pki:
    return tls_servers.make_pki(tmp_path_factory.mktemp("tls-pki"))


@pytest.fixture(scope="session")
def nginx(pki, tmp_path_factory):
    server = tls_servers.start_nginx(pki, tmp_path_factory.mktemp("tls-nginx"),
                                     tls_servers.nginx_sites(pki))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def gnutls(pki, tmp_path_factory):
    server = tls_servers.start_gnutls(pki, tmp_path_factory.mktemp("tls-gnutls"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def legacy(pki):
    server = tls_servers.start_legacy(pki)
    yield server
    server.stop()
