"""The proxmox probe through the real host transports: a `snapshot:` directory and this
machine's file system (`LocalTransport` rooted in a copy of a node's files), with the
rules run on what it collects.

No Proxmox runs here: node/pve1 holds real-format files written from the Proxmox VE
documentation (see node/README.md). Files that are there but cannot be read are FIFOs: the
host transport refuses to open them (it would block), which is what an unreadable file is
to the collector, as root or not.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labwarden.rules import registry
from labwarden.settings import Settings
from labwarden.sources.live import proxmox
from labwarden.sources.live.collect import ProbeOptions
from labwarden.sources.live.targets import parse_target
from labwarden.sources.live.transport import LocalTransport
from labwarden.sources.proxmox.files import read_config
from labwarden.sources.proxmox.model import (
    BackupJob,
    LxcContainer,
    ProxmoxCluster,
    ProxmoxGuest,
    build_facts,
)

NODE = Path(__file__).parent / "node" / "pve1"


def collect(target: str) -> list:
    return asyncio.run(proxmox.probe(parse_target(target), ProbeOptions()))


def findings(facts: list) -> set[tuple[str, str, str]]:
    """(rule, asset, location) of every hit of every rule on the facts."""
    found = set()
    for fact in facts:
        for rule in registry.rules_for(type(fact)):
            for hit in rule.check(fact, Settings()):
                found.add((rule.id, fact.asset, str(hit.location)))
    return found


@pytest.fixture
def node_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "pve1"
    shutil.copytree(NODE, copy)
    return copy


def test_a_snapshot_gives_every_guest_its_facts_and_the_findings_point_at_file_and_line():
    facts = collect(f"snapshot:{NODE}")
    kinds = [(type(f).__name__, getattr(f, "vmid", getattr(f, "id", ""))) for f in facts]
    assert kinds == [("ProxmoxCluster", ""),
                     ("ProxmoxGuest", 101), ("LxcContainer", 101),
                     ("ProxmoxGuest", 102), ("LxcContainer", 102),
                     ("ProxmoxGuest", 103), ("LxcContainer", 103),
                     ("ProxmoxGuest", 200), ("ProxmoxGuest", 201),
                     ("BackupJob", "backup-3f1c2a9e-7d41")]
    cluster = facts[0]
    assert cluster.diagnostics == [] and cluster.asset == "pve:pve1"
    files = NODE / "files" / "etc" / "pve"
    assert findings(facts) == {
        ("PVE001", "pve:pve1/102", f"{files}/nodes/pve1/lxc/102.conf"),
        ("PVE004", "pve:pve1/102", f"{files}/nodes/pve1/lxc/102.conf:4"),
        ("PVE010", "pve:pve1/103", f"{files}/firewall/103.fw:2"),
        ("PVE020", "pve:pve1/200", f"{files}/nodes/pve1/qemu-server/200.conf"),
    }
    job = facts[-1]
    assert job.covers == {101, 102, 103, 201} and job.storage_type == "pbs"
    assert str(job.retention) == "keep-last=3,keep-daily=7,keep-weekly=4,keep-monthly=6"


def test_the_running_configuration_not_a_snapshot_section_is_judged():
    container = next(f for f in collect(f"snapshot:{NODE}")
                     if isinstance(f, LxcContainer) and f.vmid == 101)
    assert container.unprivileged and container.unprivileged_line == 17
    assert [m.source for m in container.mounts] == ["/tank/appdata/docker-01"]


def test_this_machine_and_a_snapshot_of_it_read_the_same(node_copy: Path):
    """LocalTransport reads the files where a node keeps them (here a copy's root)."""
    async def local():
        async with LocalTransport(root=str(node_copy / "files")) as transport:
            return build_facts(await read_config(transport, "local://", "pve1"))

    from_local = asyncio.run(local())
    from_snapshot = collect(f"snapshot:{node_copy}")
    assert [(type(f), f.asset) for f in from_local] == \
        [(type(f), f.asset) for f in from_snapshot]
    assert {(r, a) for r, a, _ in findings(from_local)} == \
        {(r, a) for r, a, _ in findings(from_snapshot)}


def test_a_machine_without_etc_pve_is_not_a_proxmox_node(tmp_path: Path):
    (tmp_path / "files" / "etc").mkdir(parents=True)
    (tmp_path / "ss.txt").write_text("")
    assert collect(f"snapshot:{tmp_path}") == []
    assert collect(f"snapshot:{tmp_path / 'missing'}") == []


def test_a_file_there_but_unreadable_is_unknown_not_absent(node_copy: Path):
    pve = node_copy / "files" / "etc" / "pve"
    for name in ("jobs.cfg", "firewall/103.fw", "nodes/pve1/lxc/102.conf"):
        (pve / name).unlink()
        os.mkfifo(pve / name)
    facts = collect(f"snapshot:{node_copy}")       # a FIFO never blocks the collector
    cluster = facts[0]
    unread = sorted((d.code, d.level, Path(d.location.path).relative_to(pve).as_posix())
                    for d in cluster.diagnostics)
    assert unread == [("not-read", "error", "firewall/103.fw"),
                      ("not-read", "error", "jobs.cfg"),
                      ("not-read", "error", "nodes/pve1/lxc/102.conf")]
    guests = {f.vmid: f for f in facts if isinstance(f, ProxmoxGuest)}
    assert guests[103].firewall_enabled is None and not guests[103].jobs_known
    assert guests[102].error == "configuration not read"
    assert not any(isinstance(f, BackupJob) for f in facts)
    # nothing unknown is reported: no "not backed up", no "firewall off", no "privileged"
    assert {r for r, _, _ in findings(facts)} == set()
    proofs = [p(guests[101], Settings()) for r, items, p in registry.provers_for(ProxmoxGuest)
              if "5.1.1" in items]
    assert proofs == [None]


def test_lines_proxmox_would_not_read_are_warnings_with_their_line(node_copy: Path):
    conf = node_copy / "files" / "etc" / "pve" / "nodes" / "pve1" / "lxc" / "103.conf"
    conf.write_bytes(conf.read_bytes() + b"\x00\xff garbage without a colon\n")
    fw = node_copy / "files" / "etc" / "pve" / "firewall" / "cluster.fw"
    fw.write_text(fw.read_text() + "[BOGUS]\n")
    facts = collect(f"snapshot:{node_copy}")
    warnings = {(d.level, d.code, Path(d.location.path).name, d.location.line)
                for d in facts[0].diagnostics}
    assert warnings == {("warning", "parse-failed", "103.conf", 11),
                        ("warning", "parse-failed", "cluster.fw", 17)}
    guest = next(f for f in facts if isinstance(f, ProxmoxGuest) and f.vmid == 103)
    # an unreadable line could have held anything: the guest's items are not proven
    assert not guest.complete
    proofs = [p(guest, Settings()) for r, items, p in registry.provers_for(ProxmoxGuest)]
    assert proofs == [None] * len(proofs)


def test_audit_of_a_snapshot_from_the_command_line(tmp_path: Path):
    """`labwarden audit snapshot:DIR` runs the host and proxmox probes together; the JSON
    report carries the PVE findings at their files."""
    done = subprocess.run([sys.executable, "-m", "labwarden", "audit", f"snapshot:{NODE}",
                           "--format", "json", "--allow-partial", "--no-config"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr          # findings at the default threshold
    report = json.loads(done.stdout)
    pve = sorted((f["rule_id"], f["location"]["path"].split("/etc/pve/")[1])
                 for f in report["findings"] if f["rule_id"].startswith("PVE"))
    assert pve == [("PVE001", "nodes/pve1/lxc/102.conf"),
                   ("PVE004", "nodes/pve1/lxc/102.conf"),
                   ("PVE010", "firewall/103.fw"),
                   ("PVE020", "nodes/pve1/qemu-server/200.conf")]
    assert "Traceback" not in done.stderr



def test_the_documented_snapshot_one_liner_copies_what_is_read_and_no_secret(tmp_path):
    """The shell one-liner of files.py (and docs/hosts.md), run on a copy of a node's
    /etc/pve (the paths moved into tmp_path: this machine has none), gives a snapshot that
    reads like the node, without /etc/pve/priv or a node's TLS key."""
    from labwarden.sources.proxmox import files

    doc = files.__doc__
    script = doc[doc.index("D=$PWD/host-snapshot"):].split("\n\n")[0]
    script = "\n".join(line.strip() for line in script.splitlines())
    root = tmp_path / "node"
    shutil.copytree(NODE / "files", root)
    (root / "etc" / "pve" / "priv").mkdir()
    (root / "etc" / "pve" / "priv" / "token.cfg").write_text("auditor@pve!x 0123-secret\n")
    (root / "etc" / "pve" / "nodes" / "pve1" / "pve-ssl.key").write_text("PRIVATE KEY\n")
    for source in ("cd /etc/pve", "-f /etc/vzdump.conf", "cp /etc/vzdump.conf"):
        assert source in script
        script = script.replace(source, source.replace(" /etc/", f" {root}/etc/"))
    work = tmp_path / "work"
    work.mkdir()
    subprocess.run(["sh", "-c", script], cwd=work, check=True)
    snapshot = work / "host-snapshot"
    copied = sorted(p.relative_to(snapshot / "files").as_posix()
                    for p in (snapshot / "files").rglob("*") if p.is_file())
    original = sorted(p.relative_to(NODE / "files").as_posix()
                      for p in (NODE / "files").rglob("*") if p.is_file())
    assert copied == original
    assert not (snapshot / "files" / "etc" / "pve" / "priv").exists()
    from_copy, from_node = collect(f"snapshot:{snapshot}"), collect(f"snapshot:{NODE}")
    assert [(type(f), f.asset) for f in from_copy] == [(type(f), f.asset) for f in from_node]
    assert {(r, a) for r, a, _ in findings(from_copy)} == \
        {(r, a) for r, a, _ in findings(from_node)}


def test_docs_and_the_collector_give_the_same_snapshot_one_liner():
    from labwarden.sources.proxmox import files

    doc = files.__doc__
    in_module = doc[doc.index("D=$PWD/host-snapshot"):].split("\n\n")[0]
    page = (Path(__file__).parents[3] / "docs" / "hosts.md").read_text()
    in_page = page[page.index("D=$PWD/host-snapshot"):].split("```")[0]
    strip = lambda text: [line.strip() for line in text.strip().splitlines()]  # noqa: E731
    assert strip(in_module) == strip(in_page)
