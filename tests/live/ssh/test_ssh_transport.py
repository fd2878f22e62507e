"""The probe's own SSH transport (`ssh_crypto`) against a real sshd, one algorithm at a
time: a wrong exchange hash, key derivation, sequence number, padding or MAC makes sshd
drop the connection, so reading the authentication methods proves each one end to end."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
import sshd_servers
from ssh_probe import probe_sync

from labwarden.rules.registry import rules_for
from labwarden.settings import DEFAULT
from labwarden.sources.live import ssh_crypto
from labwarden.sources.live.ssh_encoding import ProtocolError
from labwarden.sources.live.ssh_wire import (
    KEX_FOR_KEYS,
    Session,
    SshServer,
    _first_connection,
    key_exchange,
    methods_offered,
    plan_session,
)

NON_AEAD = [c for c in ssh_crypto.CIPHER_PREFERENCE if not ssh_crypto.is_aead(c)]
AEAD = [c for c in ssh_crypto.CIPHER_PREFERENCE if ssh_crypto.is_aead(c)]


def methods_with(port: int, kex: str, cipher: str, mac: str) -> list[str]:
    async def body():
        start = await _first_connection("127.0.0.1", port, 5.0)
        try:
            session = Session(kex, "ssh-ed25519", cipher, mac, "none", True)
            result = await key_exchange(start.conn, session, start.line, start.kexinit_payload)
            return await methods_offered(start.conn, session, result, "root")
        finally:
            await start.conn.close()

    return asyncio.run(body())


@pytest.mark.parametrize("cipher", ssh_crypto.CIPHER_PREFERENCE)
def test_each_cipher(cipher, every_sshd):
    assert methods_with(every_sshd.port, "curve25519-sha256", cipher,
                        "hmac-sha2-256") == ["publickey", "password"]


@pytest.mark.parametrize("mac", ssh_crypto.MAC_PREFERENCE)
@pytest.mark.parametrize("cipher", ["aes128-ctr", "3des-cbc"])   # a 16- and an 8-byte block
def test_each_mac(cipher, mac, every_sshd):
    assert methods_with(every_sshd.port, "ecdh-sha2-nistp256", cipher, mac) == [
        "publickey", "password"]


@pytest.mark.parametrize("kex", KEX_FOR_KEYS)
def test_each_key_exchange_completes(kex, every_sshd):
    assert methods_with(every_sshd.port, kex, "aes256-gcm@openssh.com",
                        "hmac-sha2-256") == ["publickey", "password"]


def test_dropbear_is_read_completely(dropbear):
    """The other SSH implementation a homelab runs: its own packet and kex code."""
    fact = probe_sync(dropbear.target)
    assert not fact.diagnostics and fact.product == "dropbear"
    assert fact.auth_methods == ["publickey", "password"]
    keys = {(k.key_type, k.bits, k.inferred) for k in fact.host_keys}
    assert ("ssh-rsa", 2048, False) in keys and ("ssh-ed25519", 256, True) in keys
    # Its weak algorithms are reported with a fix for dropbear, not for sshd_config.
    hits = {rule.id: hit for rule in rules_for(SshServer) for hit in rule.check(fact, DEFAULT)}
    assert {"SSH001", "SSH003", "SSH005"} <= set(hits)
    for rule_id in ("SSH003", "SSH005"):
        assert "localoptions.h" in hits[rule_id].fix and "sshd_config" not in hits[rule_id].fix


@pytest.mark.parametrize("kex,cipher,mac", [
    ("curve25519-sha256", "chacha20-poly1305@openssh.com", "hmac-sha2-256"),
    ("curve25519-sha256@libssh.org", "aes128-ctr", "hmac-sha2-256"),
    ("ecdh-sha2-nistp521", "aes256-ctr", "hmac-sha1"),
    ("ecdh-sha2-nistp384", "aes128-ctr", "hmac-sha1"),
    ("ecdh-sha2-nistp256", "aes256-ctr", "hmac-sha2-256"),
    ("diffie-hellman-group14-sha256", "aes128-ctr", "hmac-sha2-256"),
    ("diffie-hellman-group14-sha1", "aes128-ctr", "hmac-sha1"),
])
def test_each_dropbear_algorithm(kex, cipher, mac, dropbear):
    assert methods_with(dropbear.port, kex, cipher, mac) == ["publickey", "password"]


def test_a_corrupted_packet_is_refused_not_misread(every_sshd):
    """A MAC that does not check out is an error: flip one byte of what the server sends."""
    async def body():
        start = await _first_connection("127.0.0.1", every_sshd.port, 5.0)
        try:
            session = Session("curve25519-sha256", "ssh-ed25519", "aes128-ctr", "hmac-sha2-256",
                              "none", True)
            result = await key_exchange(start.conn, session, start.line, start.kexinit_payload)
            real_read = start.conn._read
            count = 0

            async def corrupting_read(size):
                nonlocal count
                data = await real_read(size)
                count += 1
                if start.conn.incoming is not None and count > 2:    # after NEWKEYS
                    data = bytes([data[0] ^ 1]) + data[1:]
                return data

            start.conn._read = corrupting_read
            return await methods_offered(start.conn, session, result, "root")
        finally:
            await start.conn.close()

    with pytest.raises(ProtocolError, match="integrity|invalid"):
        asyncio.run(body())


def test_the_session_uses_only_algorithms_the_server_offers():
    server = {"ciphers_c2s": ["chacha20-poly1305@openssh.com", "aes256-ctr"],
              "ciphers_s2c": ["aes256-ctr", "chacha20-poly1305@openssh.com"],
              "macs_c2s": ["umac-128-etm@openssh.com", "hmac-sha2-512"],
              "macs_s2c": ["hmac-sha2-512", "umac-128-etm@openssh.com"],
              "compression_c2s": ["none"], "compression_s2c": ["none"]}
    session = plan_session(server, "curve25519-sha256", "ssh-ed25519")
    assert (session.cipher, session.mac, session.runnable) == ("aes256-ctr", "hmac-sha2-512",
                                                               True)
    # UMAC only: the AEAD cipher needs no MAC of ours, but the lists must still meet.
    umac_only = dict(server, macs_c2s=["umac-128-etm@openssh.com"],
                     macs_s2c=["umac-128-etm@openssh.com"])
    session = plan_session(umac_only, "curve25519-sha256", "ssh-ed25519")
    assert (session.cipher, session.mac, session.runnable) == (
        "chacha20-poly1305@openssh.com", "umac-128-etm@openssh.com", True)
    # Nothing we can run: still a KEXINIT the server accepts, to read the host key.
    hopeless = dict(umac_only, ciphers_c2s=["aes256-ctr"], ciphers_s2c=["aes256-ctr"])
    session = plan_session(hopeless, "curve25519-sha256", "ssh-ed25519")
    assert (session.cipher, session.mac, session.runnable) == (
        "aes256-ctr", "umac-128-etm@openssh.com", False)
    zlib_only = dict(server, compression_c2s=["zlib"], compression_s2c=["zlib"])
    session = plan_session(zlib_only, "curve25519-sha256", "ssh-ed25519")
    assert (session.compression, session.runnable) == ("zlib", False)


def test_a_server_the_transport_cannot_talk_to_still_shows_its_host_key(tmp_path):
    """UMAC is not in `cryptography`: an sshd offering only UMAC with a non-AEAD cipher
    gives its host key and algorithms, and says why the methods are unknown."""
    server = sshd_servers.start_sshd(tmp_path, "umac", "hardened", overrides={
        "Ciphers": "aes128-ctr", "MACs": "umac-128-etm@openssh.com"})
    try:
        fact = probe_sync(server.target)
    finally:
        server.stop()
    assert fact.error is None and fact.ciphers == ["aes128-ctr"]
    assert [(k.key_type, k.inferred) for k in fact.host_keys] == [("ssh-ed25519", False)]
    assert fact.auth_methods is None
    (diagnostic,) = fact.diagnostics
    assert diagnostic.code == "ssh-auth-methods" and "umac-128-etm" in diagnostic.message


def test_the_modp_groups_are_the_standard_ones():
    """Computed from pi (RFC 2409 / 3526); asyncssh ships them as constants."""
    from asyncssh import kex_dh

    for bits, name in ((1024, "_group1_p"), (2048, "_group14_p"), (4096, "_group16_p"),
                       (8192, "_group18_p")):
        assert ssh_crypto.modp_prime(bits) == getattr(kex_dh, name)


def test_probing_imports_no_asyncssh(hardened_sshd, legacy_sshd):
    """asyncssh costs 170 ms of start-up: the remote probe must not need it."""
    code = (
        "import asyncio, sys\n"
        "from labwarden.sources.live.collect import ProbeOptions\n"
        "from labwarden.sources.live.ssh_wire import probe\n"
        "from labwarden.sources.live.targets import parse_target\n"
        "for t in sys.argv[1:]:\n"
        "    f = asyncio.run(probe(parse_target(t), ProbeOptions()))\n"
        "    assert f.auth_methods == ['publickey'], (t, f.auth_methods, f.diagnostics)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'asyncssh'))\n")
    done = subprocess.run([sys.executable, "-c", code, hardened_sshd.target,
                           legacy_sshd.target], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# --- servers that do not play by the rules -------------------------------------------------

def _scripted_server(reply: bytes, close: bool):
    """A server that sends a banner and a KEXINIT, then `reply` (raw bytes) to whatever
    the client sends next; then it hangs up (`close`) or stays silent."""
    from labwarden.sources.live.ssh_encoding import namelist
    from labwarden.sources.live.ssh_wire import MSG_KEXINIT, packet

    kexinit = (bytes([MSG_KEXINIT]) + bytes(16) + namelist(["curve25519-sha256"])
               + namelist(["ssh-ed25519"]) + namelist(["aes128-ctr"]) * 2
               + namelist(["hmac-sha2-256"]) * 2 + namelist(["none"]) * 2
               + namelist([]) * 2 + b"\x00" + bytes(4))

    async def handler(reader, writer):
        writer.write(b"SSH-2.0-Scripted_1.0\r\n" + packet(kexinit))
        await reader.readline()
        await reader.read(4096)                 # our KEXINIT and KEXDH_INIT
        writer.write(reply)
        await writer.drain()
        if not close:
            await reader.read()
        writer.close()

    return handler


def _probe_scripted(handler):
    from labwarden.sources.live.collect import ProbeOptions
    from labwarden.sources.live.ssh_wire import probe
    from labwarden.sources.live.targets import parse_target

    async def body():
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            return await probe(parse_target(f"ssh://127.0.0.1:{port}"),
                               ProbeOptions(timeout=1.0))
        finally:
            server.close()
            await server.wait_closed()

    return asyncio.run(body())


@pytest.mark.parametrize("reply,close,expected", [
    # a KEXDH_REPLY whose curve25519 value is 31 bytes long
    (lambda s, p: p(bytes([31]) + s(s(b"ssh-ed25519") + s(bytes(32))) + s(bytes(31))
                    + s(b"sig")), False, "curve25519"),
    # a KEXDH_REPLY cut short
    (lambda s, p: p(bytes([31]) + s(b"ssh-ed25519")[:-3]), False, "truncated"),
    # a packet length far beyond any SSH packet
    (lambda s, p: b"\xff\xff\xff\xf0" + bytes(16), False, "invalid packet length"),
    # half a packet, then the connection closed
    (lambda s, p: b"\x00\x00", True, "closed the connection"),
    # half a packet, then silence: bounded by the timeout
    (lambda s, p: b"\x00\x00", False, "no answer in time"),
])
def test_a_broken_key_exchange_is_a_diagnostic(reply, close, expected):
    from labwarden.sources.live.ssh_encoding import string
    from labwarden.sources.live.ssh_wire import packet

    fact = _probe_scripted(_scripted_server(reply(string, packet), close))
    assert fact.error is None and fact.software == "Scripted_1.0"
    assert fact.kex == ["curve25519-sha256"] and fact.auth_methods is None
    codes = sorted(d.code for d in fact.diagnostics)
    assert codes == ["ssh-auth-methods", "ssh-host-key"], fact.diagnostics
    assert any(expected in d.message for d in fact.diagnostics), fact.diagnostics


def test_a_pre_login_banner_does_not_hide_the_methods(tmp_path):
    """`Banner` makes sshd send USERAUTH_BANNER before its answer to `none`."""
    banner = tmp_path / "issue.net"
    banner.write_text("Authorized access only. All activity is logged.\n")
    server = sshd_servers.start_sshd(tmp_path, "banner", "hardened",
                                     overrides={"Banner": str(banner)})
    try:
        fact = probe_sync(server.target)
    finally:
        server.stop()
    assert fact.auth_methods == ["publickey"] and not fact.diagnostics
