"""Real OpenSSH daemons for the SSH tests: a WEAK one (legacy algorithms, a 2048-bit RSA and
a DSA host key, passwords, root login…) and a HARDENED one (ssh-audit's Debian 12 guide,
Ed25519 only, keys only), each on its own loopback high port with its own config and keys.
They start once per session, as root; a missing sshd fails the tests, naming the package."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import sshd_servers
from ssh_probe import probe_sync


def _start(tmp_path_factory, kind: str) -> sshd_servers.SshdServer:
    try:
        return sshd_servers.start_sshd(tmp_path_factory.mktemp(f"sshd-{kind}"), kind, kind)
    except sshd_servers.MissingTool as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def weak_sshd(tmp_path_factory):
    server = _start(tmp_path_factory, "weak")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def hardened_sshd(tmp_path_factory):
    server = _start(tmp_path_factory, "hardened")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def legacy_sshd(tmp_path_factory):
    server = _start(tmp_path_factory, "legacy")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def weak_remote(weak_sshd):
    """The weak server as the network sees it (probed once: with PermitEmptyPasswords and
    PAM, sshd answers the `none` request only after PAM's ~2 s failure delay)."""
    return probe_sync(weak_sshd.target, every_key=True)


@pytest.fixture(scope="session")
def hardened_remote(hardened_sshd):
    return probe_sync(hardened_sshd.target)


@pytest.fixture(scope="session")
def every_sshd(tmp_path_factory):
    """Every algorithm sshd has compiled in, PAM off: for the probe's transport."""
    server = _start(tmp_path_factory, "every")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dropbear(tmp_path_factory):
    """dropbear, the SSH server of OpenWrt routers and small NAS boxes."""
    try:
        server = sshd_servers.start_dropbear(tmp_path_factory.mktemp("dropbear"))
    except sshd_servers.MissingTool as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()
