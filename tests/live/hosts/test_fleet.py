"""Many hosts in one run (`audit --hosts`): hosts from labwarden.yaml and an Ansible
inventory, collected concurrently within `--jobs`, each within its own time; a dead host (a
closed loopback port, a black-holed one, one that accepts and never speaks) is a diagnostic
naming it while the others are audited; host groups in waivers; the progress display on a
terminal only. Real servers: the session's OpenSSH server and loopback sockets."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from labwarden.audit.fleet import select_hosts
from labwarden.config import load_config
from labwarden.inventory import load_inventory
from labwarden.sources.live.collect import ProbeOptions, collect
from labwarden.sources.live.targets import parse_target

LABWARDEN = [sys.executable, "-m", "labwarden"]


class SilentHosts:
    """Loopback listeners that accept connections and never say a word (a host whose sshd
    hangs) until `released`, counting the connections they accepted."""

    def __init__(self, count: int):
        self.sockets = []
        self.accepted = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.released = threading.Event()     # set: hang up on every client
        for _ in range(count):
            listener = socket.socket()
            listener.bind(("127.0.0.1", 0))
            listener.listen(64)
            listener.settimeout(0.1)
            self.sockets.append(listener)
            threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    @property
    def ports(self) -> list[int]:
        return [s.getsockname()[1] for s in self.sockets]

    def _accept(self, listener: socket.socket) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with self.lock:
                self.accepted += 1
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        with conn:
            while not (self.stop.is_set() or self.released.is_set()):
                try:
                    if not conn.recv(4096):
                        break                # the client gave up and closed
                except TimeoutError:
                    continue
                except OSError:
                    break

    def close(self) -> None:
        self.stop.set()
        for listener in self.sockets:
            listener.close()


@pytest.fixture
def silent_hosts():
    hosts = SilentHosts(4)
    yield hosts
    hosts.close()


def write_lab(tmp_path: Path, inventory: str, extra: str = "") -> Path:
    (tmp_path / "hosts.ini").write_text(inventory)
    config = tmp_path / "labwarden.yaml"
    config.write_text("ansible_inventory: hosts.ini\n" + extra)
    return config


def audit(config: Path, *args: str, **kwargs) -> tuple[int, dict, str]:
    report = config.parent / "report.json"
    done = subprocess.run([*LABWARDEN, "audit", "--config", str(config), "--format", "json",
                           "-o", str(report), *args], capture_output=True, text=True,
                          cwd=config.parent, timeout=120, **kwargs)
    data = json.loads(report.read_text()) if report.exists() else {}
    return done.returncode, data, done.stderr


def test_dead_hosts_are_named_diagnostics_while_the_others_are_audited(
        tmp_path, sshd_server, tcp_ports, silent_hosts):
    config = write_lab(tmp_path, f"""\
[alive]
good ansible_host=127.0.0.1 ansible_port={sshd_server.port} ansible_user=root
here ansible_connection=local

[dead]
closed ansible_host=127.0.0.1 ansible_port={tcp_ports.closed} ansible_user=root
blackholed ansible_host=127.0.0.1 ansible_port={tcp_ports.blackholed} ansible_user=root
silent ansible_host=127.0.0.1 ansible_port={silent_hosts.ports[0]} ansible_user=root

[windows]
win1 ansible_connection=winrm
""")
    code, report, stderr = audit(
        config, "--hosts", "--ssh-key", sshd_server.key, "--ssh-known-hosts",
        sshd_server.known_hosts, "--ssh-accept-unknown-host", "--timeout", "3",
        "--host-timeout", "8", "--jobs", "3")
    assert code == 2, stderr                    # some hosts were not checked
    assets = {f["asset"] for f in report["findings"]}
    # the live hosts were audited in full, under their inventory names
    assert {"host:good", "sshd:good", "host:here", "sshd:here"} <= assets
    assert not {a for a in assets if a.split(":", 1)[1] in ("closed", "blackholed", "silent")}
    errors = [d for d in report["diagnostics"] if d["level"] == "error"]
    named = {d["message"].split(":")[0] for d in errors}
    assert {"closed", "blackholed", "silent"} <= named
    where = {d["message"].split(":")[0]: d["location"]["path"] for d in errors}
    assert where["blackholed"] == f"ssh://root@127.0.0.1:{tcp_ports.blackholed}"
    # a host the inventory cannot give an address is an error naming it, at its line
    (win,) = [d for d in errors if d["code"] == "no-address"]
    assert win["message"].startswith("host win1 not collected: ansible_connection winrm")
    assert win["location"] == {"path": str(tmp_path / "hosts.ini"), "line": 11, "column": 0}
    assert not any(d["message"].startswith(("good:", "here:")) for d in errors)


def wait_for(condition, what: str, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.02)


def test_jobs_bounds_the_hosts_collected_at_once(silent_hosts):
    """Four hosts that hang until the test lets them go: with two jobs, the third and
    fourth are not tried while the first two hang, and are once they hang up."""
    targets = [parse_target(f"ssh://root@127.0.0.1:{port}") for port in silent_hosts.ports]
    names = {t.raw: f"hung{i}" for i, t in enumerate(targets)}
    options = ProbeOptions(timeout=60, host_jobs=2, host_names=names)
    done: list = []
    worker = threading.Thread(target=lambda: done.append(asyncio.run(collect(targets,
                                                                             options))))
    worker.start()
    try:
        wait_for(lambda: silent_hosts.accepted >= 2, "the first two hosts")
        time.sleep(0.5)              # time for a third, had the bound not held it back
        assert silent_hosts.accepted == 2
    finally:
        silent_hosts.released.set()
        worker.join(60)
    assert silent_hosts.accepted == 4
    facts, diagnostics = done[0]
    assert sorted(d.message.split(":")[0] for d in diagnostics if d.level == "error") == \
        ["hung0", "hung1", "hung2", "hung3"]


def test_a_host_past_its_time_is_cut_off_and_named(silent_hosts):
    """The per-host deadline is the last resort when a probe's own timeouts are longer."""
    target = parse_target(f"ssh://root@127.0.0.1:{silent_hosts.ports[0]}")
    options = ProbeOptions(timeout=30, host_deadline=0.5, host_names={target.raw: "slow"})
    facts, diagnostics = asyncio.run(collect([target], options))
    assert [(d.code, d.message) for d in diagnostics] == [
        ("probe-timeout", "slow: ssh_wire probe gave no answer within 0.5 s: not checked")]


def snapshot_of(tmp_path: Path, name: str, permit_root: str) -> Path:
    """A snapshot directory with an sshd that permits root login or not."""
    directory = tmp_path / name
    directory.mkdir()
    (directory / "sshd_T.txt").write_text(
        f"port 22\npermitrootlogin {permit_root}\npasswordauthentication no\n"
        "kbdinteractiveauthentication no\npubkeyauthentication yes\nmaxauthtries 3\n"
        "x11forwarding no\nallowusers admin\n")
    (directory / "sshd_t.txt").write_text("exit status 0\n")
    return directory


def test_a_host_group_waiver_covers_only_that_group(tmp_path):
    edge = snapshot_of(tmp_path, "dir-a", "yes")
    core = snapshot_of(tmp_path, "dir-b", "yes")
    config = write_lab(tmp_path, "[edge]\nproxy1\n[core]\ndb1\n", f"""\
hosts:
  proxy1: {{address: "snapshot:{edge}"}}
  db1: {{address: "snapshot:{core}"}}
waivers:
  - rule: SSH020
    scope: {{host_group: edge}}
    justification: console access only, behind the jump host
    owner: jdoe
    expires: 2099-01-01
""")
    code, report, stderr = audit(config, "--hosts", "--allow-partial")
    root_login = {f["asset"]: f["waived"] for f in report["findings"] if f["rule_id"] == "SSH020"}
    # named by the inventory, not by the snapshot's folder; the waiver took edge's only
    assert root_login == {"sshd:proxy1": True, "sshd:db1": False}


def test_a_waiver_naming_an_unknown_host_group_is_a_configuration_error(tmp_path):
    config = write_lab(tmp_path, "[edge]\nproxy1\n", """\
waivers:
  - rule: SSH020
    scope: {host_group: egde}
    justification: typo
    owner: jdoe
    expires: 2099-01-01
""")
    code, _, stderr = audit(config, "--hosts")
    assert code == 2
    assert "labwarden.yaml:3: waiver scope host_group 'egde' is not a group" in stderr
    assert "did you mean 'edge'?" in stderr and "Traceback" not in stderr


def test_the_selection_reads_like_ansible_limit(tmp_path):
    config = write_lab(tmp_path, """\
[docker]
web1
web2
[edge]
web2
proxy1
[proxmox]
pve1
pve2
""")
    inventory = load_inventory(load_config(str(config)))

    def chosen(selection):
        return [h.name for h in select_hosts(inventory, selection)]

    assert chosen(None) == ["web1", "web2", "proxy1", "pve1", "pve2"]
    assert chosen("docker:!edge") == ["web1"]
    assert chosen("docker:&edge") == ["web2"]
    assert chosen("proxmox,proxy1") == ["proxy1", "pve1", "pve2"]
    assert chosen("pve*") == ["pve1", "pve2"]
    assert chosen("!proxmox") == ["web1", "web2", "proxy1"]
    with pytest.raises(Exception, match="'dokcer' matches no host or group"):
        chosen("dokcer")
    # `audit --hosts ~/homelab` took the path for the selection: say so
    with pytest.raises(Exception, match="a path to audit goes before --hosts"):
        chosen(str(tmp_path))


def run_in_pty(argv: list[str], cwd: Path) -> tuple[int, str]:
    """Run with stderr on a pseudo-terminal; what it wrote there."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=terminal)
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:          # EIO: the other side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    return process.wait(60), b"".join(chunks).decode("utf-8", "replace")


def test_progress_shows_on_a_terminal_and_nowhere_else(tmp_path, tcp_ports):
    config = write_lab(tmp_path, f"""\
here ansible_connection=local
closed ansible_host=127.0.0.1 ansible_port={tcp_ports.closed}
""")
    argv = [*LABWARDEN, "audit", "--config", str(config), "--hosts", "--timeout", "1",
            "--format", "json", "-o", str(tmp_path / "r.json")]
    code, terminal = run_in_pty(argv, tmp_path)
    assert code == 2
    assert "collecting" in terminal and "2/2" in terminal
    assert "closed: not collected" in terminal
    piped = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert "collecting" not in piped.stderr and "\x1b[" not in piped.stderr
    assert piped.stderr.startswith("labwarden: not checked:")



def test_a_host_s_commands_and_reads_at_once_stay_within_max_sessions(sshd_server):
    """The host probe sends every command and file read at once; OpenSSH refuses more than
    MaxSessions (10) open sessions per connection. Twelve commands and twenty reads all
    succeed: commands queue for a channel, reads share one SFTP session."""
    from labwarden.sources.live.transport import SshTransport

    async def everything():
        transport = SshTransport("127.0.0.1", sshd_server.port, "root", key_path=sshd_server.key,
                                 known_hosts=sshd_server.known_hosts, timeout=20)
        async with transport:
            await transport.connect()
            return await asyncio.gather(
                *(transport.run(["ss", "-tulpn"]) for _ in range(12)),
                *(transport.read_file("/proc/net/dev") for _ in range(20)))

    found = asyncio.run(everything())
    assert [r.rc for r in found[:12]] == [0] * 12
    assert all(data and b"lo:" in data for data in found[12:])
