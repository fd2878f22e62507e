"""`labwarden collect`: a snapshot of this host that `snapshot:` reads back as the same facts
`local://` gives. Run for real inside a network namespace of the test's own (its own
sockets, firewall and /proc/net, so that nothing else on the machine changes between the
two looks), as a directory and as a tarball; what it refuses to write and to read; and a
hostile tarball read without extracting it."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from labwarden.rules import registry
from labwarden.settings import Settings
from labwarden.sources import sshd_config
from labwarden.sources.live import host
from labwarden.sources.live.collect import ProbeOptions
from labwarden.sources.live.host import HostFacts
from labwarden.sources.live.host_snapshot import RecordingTransport, secret_reason
from labwarden.sources.live.targets import parse_target
from labwarden.sources.live.transport import LocalTransport

HERE = Path(__file__).parent
LABWARDEN = [sys.executable, "-m", "labwarden"]
LISTENER = ("import socket, sys, time\n"
            "s = socket.socket(); s.bind(('0.0.0.0', int(sys.argv[1]))); s.listen()\n"
            "print('ready', flush=True); time.sleep(60)\n")


def split(found: list) -> tuple[HostFacts, object]:
    facts = [f for f in found if isinstance(f, HostFacts)]
    sshd = [f for f in found if isinstance(f, sshd_config.SshdConfig)]
    assert len(facts) == 1 and len(sshd) == 1, found
    return facts[0], sshd[0]


def judged(*facts) -> list[tuple[str, str, str]]:
    """Every rule's hits on the facts: rule, resource, message."""
    found = []
    for fact in facts:
        for rule in registry.all_rules():
            if isinstance(fact, rule.fact):
                found += [(rule.id, h.resource, h.message) for h in rule.check(fact, Settings())]
    return sorted(found)


def listeners(facts: HostFacts) -> set:
    return {dataclasses.replace(listener, line=0) for listener in facts.listeners}


def same_host(snapshot: list, local: list) -> None:
    (snap, snap_sshd), (here, here_sshd) = split(snapshot), split(local)
    assert snap.error is None and here.error is None
    assert listeners(snap) == listeners(here)
    assert snap.firewall.tables == here.firewall.tables
    assert snap.firewall.collected == here.firewall.collected
    for field in ("interfaces", "default_interface", "addresses", "ip_forward",
                  "ipv6_disabled", "hostname"):
        assert getattr(snap, field) == getattr(here, field), field
    assert snap_sshd.effective and here_sshd.effective
    assert snap_sshd.options == here_sshd.options
    assert snap_sshd.validation == here_sshd.validation and snap_sshd.validation.ok
    assert judged(snap, snap_sshd) == judged(here, here_sshd)


def test_collect_in_a_namespace_reads_back_as_the_same_facts(netns, tmp_path):
    name, inside = netns
    inside("iptables-restore", stdin=(HERE / "rulesets" / "open-host.txt").read_bytes())
    inside("nft", "-f", str(HERE / "rulesets" / "nft-inet-filter.txt"))
    listener = inside("python3", "-c", LISTENER, "18461", background=True)
    assert listener.stdout.readline().strip() == b"ready"
    directory, tarball = tmp_path / "ns-host", tmp_path / "ns-host.tar.gz"
    for output in (directory, tarball):
        done = inside(*LABWARDEN, "collect", "--output", str(output))
        assert b"wrote " + str(output).encode() in done.stdout
    assert (directory / "iptables-save.txt").exists() and (directory / "sshd_t.txt").exists()
    assert oct(directory.stat().st_mode & 0o777) == "0o700"
    assert oct(tarball.stat().st_mode & 0o777) == "0o600"

    local = asyncio.run(host.collect(
        LocalTransport(timeout=10, prefix=["ip", "netns", "exec", name]),
        HostFacts("local://", "ns-host", "local")))
    for output in (directory, tarball):
        snapshot = asyncio.run(host.probe(parse_target(f"snapshot:{output}"), ProbeOptions()))
        same_host(snapshot, local)
        assert split(snapshot)[0].asset == "host:ns-host"      # the tarball's name, too
    # the firewall findings point into the snapshot, as they did for a hand-made one
    facts, _ = split(asyncio.run(host.probe(parse_target(f"snapshot:{directory}"),
                                            ProbeOptions())))
    assert facts.firewall.paths["iptables-save"] == str(directory / "iptables-save.txt")


def test_the_audit_of_a_snapshot_reports_what_local_reports(netns, tmp_path):
    """End to end through the command line: the same findings, rule by rule."""
    name, inside = netns
    inside("iptables-restore", stdin=(HERE / "rulesets" / "open-host.txt").read_bytes())
    inside(*LABWARDEN, "collect", "--output", str(tmp_path / "snap.tgz"))

    def findings(target: str, *prefix: str) -> list:
        report = tmp_path / "report.json"
        subprocess.run([*prefix, *LABWARDEN, "audit", target, "--no-config", "--format", "json",
                        "-o", str(report), "--fail-on", "never"], check=True, cwd=tmp_path,
                       capture_output=True)
        data = json.loads(report.read_text())
        assert [d for d in data["diagnostics"] if d["level"] == "error"] == []
        return sorted((f["rule_id"], f["resource"], f["message"]) for f in data["findings"])

    from_snapshot = findings(f"snapshot:{tmp_path / 'snap.tgz'}")
    assert from_snapshot == findings("local://", "ip", "netns", "exec", name)
    assert ("NET100", "input/ipv4") in {(r, s) for r, s, _ in from_snapshot}


@pytest.mark.parametrize("make, output, message", [
    (lambda p: (p / "out").mkdir() or (p / "out" / "old.txt").write_text("x"), "out",
     "exists and is not an empty directory"),
    (lambda p: (p / "out").write_text("a file"), "out", "exists and is not an empty directory"),
    (lambda p: (p / "out.tar.gz").write_bytes(b"keep me"), "out.tar.gz",
     "exists; name a new file"),
    (lambda p: None, "nope/out", "does not exist"),
])
def test_collect_never_writes_over_anything(tmp_path, make, output, message):
    make(tmp_path)
    before = {str(p): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    done = subprocess.run([*LABWARDEN, "collect", "--output", str(tmp_path / output)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert {str(p): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("path", [
    "/etc/shadow", "/etc/gshadow", "/etc/ssh/ssh_host_ed25519_key", "/root/.ssh/id_ed25519",
    "/home/jdoe/.ssh/authorized_keys", "/etc/ssl/private/lab.pem", "/etc/pve/priv/authkey.key",
    "/proc/self/environ", "/proc/1/environ", "/etc/ssh/../shadow",
])
def test_secret_places_are_refused(path):
    assert secret_reason(path)


@pytest.mark.parametrize("path", [
    "/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/10-hardening.conf", "/etc/hostname",
    "/proc/net/fib_trie", "/proc/sys/net/ipv4/ip_forward", "/etc/pve/lxc/101.conf",
])
def test_what_host_mode_reads_is_allowed(path):
    assert secret_reason(path) is None


def test_an_include_of_a_key_is_not_copied_into_the_snapshot(tmp_path):
    """sshd_config is the operator's: an Include may name anything. The key it names is not
    opened, and a file that turns out to hold a private key is dropped."""
    ssh = tmp_path / "etc" / "ssh"
    (ssh / "sshd_config.d").mkdir(parents=True)
    (ssh / "sshd_config").write_text("Include /etc/ssh/sshd_config.d/*.conf\n"
                                     "Include /etc/ssh/ssh_host_ed25519_key\n")
    (ssh / "ssh_host_ed25519_key").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n")
    (ssh / "sshd_config.d" / "10-lab.conf").write_text("PermitRootLogin no\n")
    (ssh / "sshd_config.d" / "20-odd.conf").write_text(
        "# pasted by mistake\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\n")
    transport = RecordingTransport(timeout=10, root=str(tmp_path))
    asyncio.run(sshd_config.collect_sshd(transport))
    saved = transport.snapshot.files
    assert "files/etc/ssh/sshd_config" in saved
    assert saved["files/etc/ssh/sshd_config.d/10-lab.conf"] == b"PermitRootLogin no\n"
    assert not any(b"PRIVATE KEY" in data for data in saved.values())
    refused = dict(transport.snapshot.refused)
    assert refused["/etc/ssh/ssh_host_ed25519_key"] == "named like a key or password file"
    assert refused["/etc/ssh/sshd_config.d/20-odd.conf"] == "holds a private key"


def tarball(path: Path, members: list[tuple[str, bytes | None, bytes]]) -> Path:
    """members: (name, content or None, kind: b'file' | b'link' | b'fifo')."""
    with tarfile.open(path, "w:gz") as archive:
        for name, content, kind in members:
            info = tarfile.TarInfo(name)
            if kind == b"link":
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/shadow"
                archive.addfile(info)
            elif kind == b"fifo":
                info.type = tarfile.FIFOTYPE
                archive.addfile(info)
            else:
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
    return path


def test_a_snapshot_tarball_is_read_in_memory_and_never_leaves_it(tmp_path):
    ss = b"Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n" \
         b"tcp LISTEN 0 128 0.0.0.0:5432 0.0.0.0:* users:((\"postgres\",pid=1,fd=3))\n"
    path = tarball(tmp_path / "web1.tar.gz", [
        ("web1/ss.txt", ss, b"file"),                              # one top folder: fine
        ("web1/../../../../tmp/evil.txt", b"pwned", b"file"),
        ("web1/files/etc/hostname", None, b"link"),
        ("web1/iptables-save.txt", None, b"fifo"),
    ])
    facts = split_host(asyncio.run(host.probe(parse_target(f"snapshot:{path}"),
                                              ProbeOptions())))
    assert facts.asset == "host:web1"
    assert [(l.address, l.port) for l in facts.listeners] == [("0.0.0.0", 5432)]
    assert facts.hostname is None                                   # the link was not read
    assert not (Path("/tmp") / "evil.txt").exists()
    skipped = [f"{d.location.path} {d.message}" for d in facts.diagnostics
               if d.code == "not-a-file"]
    assert any("outside the snapshot" in m for m in skipped)
    assert sum("not a regular file" in m for m in skipped) == 2


def split_host(found) -> HostFacts:
    return [f for f in (found if isinstance(found, list) else [found])
            if isinstance(f, HostFacts)][0]


@pytest.mark.parametrize("content", [b"not a tarball at all", b"\x1f\x8b\x08\x00garbage"])
def test_an_unreadable_snapshot_tarball_is_an_error_not_a_pass(tmp_path, content):
    path = tmp_path / "broken.tar.gz"
    path.write_bytes(content)
    facts = split_host(asyncio.run(host.probe(parse_target(f"snapshot:{path}"),
                                              ProbeOptions())))
    assert facts.error and facts.listeners is None
    (problem,) = facts.diagnostics
    assert problem.level == "error" and "not a readable tarball" in problem.message
    assert problem.location.path == f"snapshot:{path}"


def test_collect_names_what_it_could_not_collect(tmp_path):
    """Every command ran through the recording transport and the ones that failed are
    named; here sshd -T and the firewall as the machine's root has them."""
    done = subprocess.run([*LABWARDEN, "collect", "-o", str(tmp_path / "me")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    written = {str(p.relative_to(tmp_path / "me")) for p in (tmp_path / "me").rglob("*")
               if p.is_file()}
    assert {"ss.txt", "sshd_T.txt", "files/etc/ssh/sshd_config", "files/proc/net/dev"} <= written
    assert not any(name.endswith("_key") or "shadow" in name for name in written)
    for line in done.stdout.splitlines()[1:]:
        assert line.startswith(("  not collected: ", "  not read: "))
    assert all(os.stat(tmp_path / "me" / name).st_mode & 0o077 == 0 for name in written)


@pytest.mark.parametrize("form", ["directory", "tarball"])
def test_sshd_include_files_travel_in_the_snapshot(tmp_path, form):
    """The files sshd_config includes are copied, and `snapshot:` finds them by the same
    glob (in a directory or inside a tarball)."""
    from labwarden.sources.live import host_snapshot

    root = tmp_path / "root"
    (root / "etc" / "ssh" / "sshd_config.d").mkdir(parents=True)
    (root / "etc" / "ssh" / "sshd_config").write_text(
        "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\n")
    (root / "etc" / "ssh" / "sshd_config.d" / "50-cloud.conf").write_text(
        "PermitRootLogin yes\n")
    transport = RecordingTransport(timeout=10, root=str(root))
    asyncio.run(sshd_config.collect_sshd(transport))
    # `sshd -T` ran against this machine's own sshd: read the copied files instead
    del transport.snapshot.files["sshd_T.txt"]
    output = tmp_path / ("snap" if form == "directory" else "snap.tar.gz")
    host_snapshot.write(transport.snapshot, str(output))
    found = asyncio.run(host.probe(parse_target(f"snapshot:{output}"), ProbeOptions()))
    sshd = [f for f in found if isinstance(f, sshd_config.SshdConfig)][0]
    value, option = sshd.value("PermitRootLogin")
    assert value == "yes"
    assert option.location.path == "/etc/ssh/sshd_config.d/50-cloud.conf"
    assert sshd.files == ["/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/50-cloud.conf"]


@pytest.mark.parametrize("form", ["pve1", "pve1.tar.gz"])
def test_a_proxmox_node_travels_in_the_snapshot(tmp_path, form):
    """collect's transport keeps what the Proxmox collector lists and reads (the node's
    real-format files of tests/live/proxmox/node), and `snapshot:` reads back the same
    guests and findings, from a directory or a tarball; /etc/pve/priv is not copied."""
    import shutil

    from labwarden.sources.live import host_snapshot, proxmox
    from labwarden.sources.proxmox.files import read_config
    from labwarden.sources.proxmox.model import build_facts

    root = tmp_path / "root"
    shutil.copytree(HERE.parent / "proxmox" / "node" / "pve1" / "files", root)
    (root / "etc" / "pve" / "priv").mkdir()
    (root / "etc" / "pve" / "priv" / "authkey.key").write_text("secret-authkey-9d2\n")
    (root / "etc" / "pve" / "nodes" / "pve1" / "openvz").mkdir(exist_ok=True)
    transport = RecordingTransport(timeout=10, root=str(root))
    here = build_facts(asyncio.run(read_config(transport, "local://", "pve1")))
    output = tmp_path / form
    host_snapshot.write(transport.snapshot, str(output))
    assert not any("priv" in name for name in transport.snapshot.files)
    again = asyncio.run(proxmox.probe(parse_target(f"snapshot:{output}"), ProbeOptions()))

    def judged_by_asset(facts):
        return sorted((rule.id, fact.asset) for fact in facts
                      for rule in registry.rules_for(type(fact))
                      for _ in rule.check(fact, Settings()))

    assert [(type(f).__name__, f.asset) for f in again] == \
        [(type(f).__name__, f.asset) for f in here]
    assert judged_by_asset(again) == judged_by_asset(here)
    assert {"PVE001", "PVE010", "PVE020"} <= {r for r, _ in judged_by_asset(again)}
