"""The fleet path through Ansible, run for real: `ansible-playbook` (Debian ansible-core)
runs contrib/ansible/collect.yml against localhost (`ansible_connection=local`) and a host
that cannot be reached: `labwarden collect` on every host it reaches, the snapshot fetched
back (private, an older one replaced), nothing left on the host, and one `labwarden audit
snapshot:…` over what came back, which names the host by its inventory name."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

PLAYBOOK = Path(__file__).parents[3] / "contrib" / "ansible" / "collect.yml"


def test_the_playbook_collects_fetches_and_audits(tmp_path, tcp_ports):
    playbook = shutil.which("ansible-playbook")
    if playbook is None:
        pytest.fail("ansible-playbook not found: install the Debian package ansible-core",
                    pytrace=False)
    labwarden = str(Path(sys.executable).parent / "labwarden")
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(
        "[lab]\n"
        "localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n"
        f"ghost ansible_host=127.0.0.1 ansible_port={tcp_ports.closed} ansible_user=root "
        "ansible_ssh_common_args='-o ConnectTimeout=3 -o StrictHostKeyChecking=no "
        "-o UserKnownHostsFile=/dev/null'\n")
    snapshots = tmp_path / "snapshots"
    snapshots.mkdir()
    (snapshots / "localhost.tar.gz").write_bytes(b"an older, broken snapshot")
    report = tmp_path / "fleet.json"
    before = set(glob.glob("/tmp/ansible.*labwarden"))
    env = dict(os.environ, ANSIBLE_HOME=str(tmp_path / "ansible-home"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
               ANSIBLE_HOST_KEY_CHECKING="0")
    extra = {"labwarden_bin": labwarden, "labwarden_audit_bin": labwarden,
             "labwarden_snapshots": str(snapshots), "labwarden_become": False,
             "labwarden_format": "json", "labwarden_report": str(report),
             "labwarden_audit_args": ["--no-config"]}
    done = subprocess.run([playbook, "-i", str(inventory), str(PLAYBOOK), "-e",
                           json.dumps(extra)], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300)
    # 4: a host was unreachable; the reachable one was still collected and audited
    assert done.returncode == 4, done.stdout[-3000:] + done.stderr[-2000:]
    assert "UNREACHABLE" in done.stdout and "no snapshot from: ghost" in done.stdout

    snapshot = snapshots / "localhost.tar.gz"
    with tarfile.open(snapshot) as archive:          # the fresh one, not the broken one
        names = set(archive.getnames())
    assert {"ss.txt", "sshd_T.txt", "files/etc/hostname"} <= names
    assert snapshot.stat().st_mode & 0o777 == 0o600
    assert snapshots.stat().st_mode & 0o777 == 0o700
    assert not (snapshots / "ghost.tar.gz").exists()
    assert set(glob.glob("/tmp/ansible.*labwarden")) == before      # nothing left behind

    data = json.loads(report.read_text())
    assert [d for d in data["diagnostics"] if d["level"] == "error"] == []
    assets = {f["asset"] for f in data["findings"]}
    assert assets and assets <= {"host:localhost", "sshd:localhost"}
    assert {f["location"]["path"] for f in data["findings"] if f["asset"] == "host:localhost"} \
        <= {f"snapshot:{snapshot}"}
