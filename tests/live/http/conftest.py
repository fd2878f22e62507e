"""Session fixtures: real servers on loopback for the HTTP header probe (see http_servers)."""

from __future__ import annotations

import random

import pytest

from http_servers import BlackHole, Drip, Nginx, NGINX_PACKAGE, find_nginx, make_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    try:
        import cryptography  # noqa: F401
    except ImportError:
        pytest.fail("the HTTP live tests need the PyPI package cryptography>=42 "
                    "(pip install 'cryptography>=42')")
    return make_pki(tmp_path_factory.mktemp("http-pki"))


@pytest.fixture(scope="session")
def nginx(tmp_path_factory, pki):
    binary = find_nginx()
    if binary is None:
        pytest.fail(f"nginx is not installed: the HTTP live tests need the Debian package "
                    f"'{NGINX_PACKAGE}' (apt-get install -y {NGINX_PACKAGE})")
    run_dir = tmp_path_factory.mktemp("http-nginx")
    run_dir.chmod(0o755)
    server = Nginx(binary, run_dir, pki, random.Random())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def drip_head():
    server = Drip("head")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def drip_body():
    server = Drip("body")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def black_hole():
    server = BlackHole()
    yield server
    server.stop()
