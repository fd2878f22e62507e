"""End to end against real sshd's: every weakness planted in the WEAK server is reported by
the rule that owns it, and nothing at all is reported on the HARDENED one."""

from __future__ import annotations

import asyncio
import socket
import subprocess

import pytest
import sshd_servers
from ssh_probe import probe_sync

from labwarden.model import Severity
from labwarden.rules.registry import rules_for
from labwarden.settings import DEFAULT
from labwarden.sources.live.ssh_wire import KEX_FOR_KEYS, SshServer, _key_on_new_connection


def findings(fact) -> dict[str, list]:
    found: dict[str, list] = {}
    for rule in rules_for(type(fact)):
        for hit in rule.check(fact, DEFAULT):
            found.setdefault(rule.id, []).append(hit)
    return found


def severity(rule_id: str, hit) -> Severity:
    return hit.severity if hit.severity is not None else \
        next(r for r in rules_for(SshServer) if r.id == rule_id).severity


# --- the wire facts ------------------------------------------------------------------------

def test_weak_server_facts(weak_remote, weak_sshd):
    fact = weak_remote
    assert fact.error is None and not fact.diagnostics
    version = subprocess.run(["ssh", "-V"], capture_output=True, text=True, check=False).stderr
    assert fact.banner.startswith("SSH-2.0-OpenSSH_")
    assert fact.protocol == "2.0" and fact.software == version.split(",")[0].split()[0]
    for name in sshd_servers.WEAK_KEX:
        assert name in fact.kex
    for name in sshd_servers.WEAK_CIPHERS:
        assert name in fact.ciphers
    for name in sshd_servers.WEAK_MACS:
        assert name in fact.macs
    assert {"ssh-rsa", "ssh-dss", "rsa-sha2-512"} <= set(fact.host_key_algorithms)
    assert fact.auth_methods == ["publickey", "password", "keyboard-interactive"]
    assert fact.auth_user == "root"


def _keygen_fingerprints(keys) -> dict[str, tuple[int, str]]:
    """{fingerprint: (bits, type)} as ssh-keygen prints them for the server's .pub files."""
    result = {}
    for key in keys:
        line = subprocess.run([sshd_servers.keygen_binary(), "-l", "-f", f"{key}.pub"],
                              capture_output=True, text=True, check=True).stdout.split()
        result[line[1]] = (int(line[0]), line[-1].strip("()"))
    return result


def test_every_host_key_is_read_with_its_size(weak_remote, weak_sshd):
    expected = _keygen_fingerprints(weak_sshd.keys)
    got = {k.fingerprint: k for k in weak_remote.host_keys}
    assert set(got) == set(expected)          # one key per family, every family
    for fingerprint, (bits, kind) in expected.items():
        assert got[fingerprint].bits == bits, kind
    assert {k.key_type for k in weak_remote.host_keys} == {
        "ssh-rsa", "ssh-dss", "ecdsa-sha2-nistp256", "ssh-ed25519"}
    rsa = next(k for k in weak_remote.host_keys if k.key_type == "ssh-rsa")
    assert rsa.algorithm == "rsa-sha2-512"     # the RSA key fetched once, with SHA-2


def test_hardened_server_facts(hardened_remote, hardened_sshd):
    fact = hardened_remote
    assert fact.error is None and not fact.diagnostics
    assert fact.auth_methods == ["publickey"]
    assert fact.host_key_algorithms == ["ssh-ed25519"]
    assert [k.fingerprint for k in fact.host_keys] == list(_keygen_fingerprints(hardened_sshd.keys))
    assert "kex-strict-s-v00@openssh.com" in fact.kex


# --- rules on the wire facts ------------------------------------------------------------------

def test_every_planted_remote_weakness_is_reported(weak_remote):
    found = findings(weak_remote)
    assert "password" in found["SSH001"][0].evidence
    assert severity("SSH001", found["SSH001"][0]) is Severity.HIGH
    assert found["SSH002"]
    kex = found["SSH003"][0]
    for name in sshd_servers.WEAK_KEX:
        assert name in kex.evidence
    assert severity("SSH003", kex) is Severity.HIGH           # group1-sha1
    ciphers = found["SSH004"][0]
    for name in sshd_servers.WEAK_CIPHERS:
        assert name in ciphers.evidence
    assert severity("SSH004", ciphers) is Severity.HIGH       # 3des-cbc
    macs = found["SSH005"][0]
    for name in sshd_servers.WEAK_MACS:
        assert name in macs.evidence
    assert severity("SSH005", macs) is Severity.MEDIUM        # hmac-md5
    keys = {hit.resource: severity("SSH006", hit) for hit in found["SSH006"]}
    assert keys["hostkey:ssh-rsa"] is Severity.MEDIUM          # 2048 < 3072
    assert keys["hostkey:ssh-dss"] is Severity.HIGH
    assert "2048-bit RSA" in next(h.message for h in found["SSH006"]
                                  if h.resource == "hostkey:ssh-rsa")
    assert "ssh-rsa" in found["SSH007"][0].message
    # Debian's build of this OpenSSH carries the fixes; strict KEX is on; protocol 2 only.
    assert not {"SSH008", "SSH009", "SSH010"} & set(found)


def test_nothing_is_reported_on_the_hardened_server(hardened_remote):
    assert findings(hardened_remote) == {}


def test_the_probe_never_tries_a_credential(weak_remote, weak_sshd):
    log = weak_sshd.log.read_text(errors="replace")
    assert "Accepted" not in log
    assert "Failed password" not in log and "keyboard-interactive" not in log


def test_a_named_user_is_probed(hardened_sshd):
    fact = probe_sync(hardened_sshd.target.replace("://", "://admin@"))
    assert fact.auth_user == "admin" and fact.auth_methods == ["publickey"]


# --- targets that are not (working) SSH servers ---------------------------------------------

def test_closed_port_is_an_error_fact_with_a_diagnostic():
    port = sshd_servers.free_port()
    fact = probe_sync(f"ssh://127.0.0.1:{port}", timeout=1.0)
    assert fact.error == "connection refused"
    assert [(d.level, d.code) for d in fact.diagnostics] == [("error", "unreachable")]
    assert fact.auth_methods is None and findings(fact) == {}


async def _serve(handler, body):
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        return await body(port)
    finally:
        server.close()
        await server.wait_closed()


def test_a_web_server_is_not_mistaken_for_ssh():
    from labwarden.sources.live.collect import ProbeOptions
    from labwarden.sources.live.ssh_wire import probe
    from labwarden.sources.live.targets import parse_target

    async def http(reader, writer):
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    async def body(port):
        return await probe(parse_target(f"ssh://127.0.0.1:{port}"), ProbeOptions(timeout=1.0))

    fact = asyncio.run(_serve(http, body))
    assert fact.error and "no SSH banner" in fact.error and "HTTP/1.1 400" in fact.error
    assert fact.diagnostics[0].code == "unreachable"


def test_a_silent_server_costs_one_timeout():
    from labwarden.sources.live.collect import ProbeOptions
    from labwarden.sources.live.ssh_wire import probe
    from labwarden.sources.live.targets import parse_target

    async def silent(reader, writer):
        await reader.read()            # accept, say nothing, wait for the client to leave
        writer.close()

    async def body(port):
        return await probe(parse_target(f"ssh://127.0.0.1:{port}"), ProbeOptions(timeout=0.3))

    fact = asyncio.run(_serve(silent, body))
    assert fact.error == "no answer in time"
    assert fact.diagnostics[0].level == "error"


def test_an_ipv6_loopback_target(hardened_sshd):
    if not socket.has_ipv6:
        return
    fact = probe_sync(f"ssh://[::1]:{sshd_servers.free_port()}", timeout=1.0)
    assert fact.error is not None and fact.asset.startswith("ssh:[::1]:")


# --- every key exchange the probe runs, and a legacy-only server ------------------------------

@pytest.mark.parametrize("kex", KEX_FOR_KEYS)
def test_each_key_exchange_reads_the_rsa_key(kex, weak_sshd, weak_remote):
    """The weak server offers every kex the probe knows: each one yields the same key."""
    assert kex in weak_remote.kex
    rsa = next(k for k in weak_remote.host_keys if k.key_type == "ssh-rsa")
    key = asyncio.run(_key_on_new_connection("127.0.0.1", weak_sshd.port, 5.0, kex,
                                             "rsa-sha2-256"))
    assert (key.fingerprint, key.bits) == (rsa.fingerprint, 2048)


def test_a_legacy_only_server_is_read_completely(legacy_sshd):
    fact = probe_sync(legacy_sshd.target)
    assert not fact.diagnostics
    assert fact.auth_methods == ["publickey"]          # over group1, 3DES-CBC and HMAC-MD5
    assert sorted((k.key_type, k.bits) for k in fact.host_keys) == [
        ("ssh-dss", 1024), ("ssh-rsa", 1024)]
    found = findings(fact)
    assert {h.resource: severity("SSH006", h) for h in found["SSH006"]} == {
        "hostkey:ssh-rsa": Severity.HIGH, "hostkey:ssh-dss": Severity.HIGH}
    assert {"SSH003", "SSH004", "SSH005", "SSH006", "SSH007"} == set(found)


def test_a_deadline_cancels_every_connection_of_the_probe(hardened_sshd):
    """collect() bounds a probe with wait_for: nothing of it may outlive the deadline."""
    from labwarden.sources.live.collect import ProbeOptions
    from labwarden.sources.live.ssh_wire import probe
    from labwarden.sources.live.targets import parse_target

    async def body():
        try:
            await asyncio.wait_for(probe(parse_target(hardened_sshd.target), ProbeOptions()),
                                   0.001)
        except TimeoutError:
            pass
        for _ in range(3):
            await asyncio.sleep(0)
        return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()
                and not t.done()]

    assert asyncio.run(body()) == []


def test_an_ssh1_only_server_is_reported():
    async def ssh1(reader, writer):
        writer.write(b"SSH-1.5-OldServer_1.0\r\n")
        await writer.drain()
        await reader.read()
        writer.close()

    async def body(port):
        from labwarden.sources.live.collect import ProbeOptions
        from labwarden.sources.live.ssh_wire import probe
        from labwarden.sources.live.targets import parse_target

        return await probe(parse_target(f"ssh://127.0.0.1:{port}"), ProbeOptions(timeout=1.0))

    fact = asyncio.run(_serve(ssh1, body))
    assert fact.protocol == "1.5" and fact.error is None and not fact.diagnostics
    assert set(findings(fact)) == {"SSH010"}


def test_by_default_only_keys_of_open_size_are_fetched(weak_sshd, weak_remote, monkeypatch):
    """The RSA key is fetched; Ed25519, ECDSA and DSA (always 1024-bit) come from their
    algorithm: one connection to the weak server instead of four, same findings."""
    from labwarden.sources.live import ssh_wire

    opened = []
    real_open = ssh_wire._Conn.open.__func__

    async def counting_open(cls, host, port, timeout):
        opened.append(port)
        return await real_open(cls, host, port, timeout)

    monkeypatch.setattr(ssh_wire._Conn, "open", classmethod(counting_open))
    fact = probe_sync(weak_sshd.target.replace("://", "://admin@"))
    assert opened == [weak_sshd.port]
    fetched = {k.key_type: k.bits for k in fact.host_keys if not k.inferred}
    inferred = {k.key_type: k.bits for k in fact.host_keys if k.inferred}
    assert fetched == {"ssh-rsa": 2048}
    assert inferred == {"ecdsa-sha2-nistp256": 256, "ssh-ed25519": 256, "ssh-dss": 1024}
    assert all(k.fingerprint == "" for k in fact.host_keys if k.inferred)
    assert {r: [h.message for h in hs] for r, hs in findings(fact).items()} == \
        {r: [h.message.replace("'root'", "'admin'") for h in hs]
         for r, hs in findings(weak_remote).items()}
