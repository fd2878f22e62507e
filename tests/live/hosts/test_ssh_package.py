"""SSH008 when the banner hides the build (`DebianBanner no`), end to end (issue 15): the
remote probe alone cannot tell a patched build from a vulnerable one (an INFO note); read as
a host too, the installed package (dpkg-query) decides."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile

import pytest
from .conftest import free_port, need, wait_port

from labwarden.audit.live import run_live
from labwarden.audit.runner import RuleRunner
from labwarden.config import Config
from labwarden.model import Severity
from labwarden.sources.live.collect import ProbeOptions
from labwarden.sources.live.host import HostFacts
from labwarden.sources.live.ssh_wire import SshServer
from labwarden.sources.live.targets import parse_target


@pytest.fixture(scope="module")
def hidden_banner_sshd():
    sshd = need("sshd", "openssh-server", ("/usr/sbin/sshd",))
    keygen = need("ssh-keygen", "openssh-client")
    directory = tempfile.mkdtemp(prefix="lw-sshd-nobanner-")
    os.chmod(directory, 0o700)
    host_key, client_key = (os.path.join(directory, n) for n in ("host", "client"))
    for path in (host_key, client_key):
        subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", path], check=True)
    shutil.copy(client_key + ".pub", os.path.join(directory, "authorized_keys"))
    port = free_port()
    config = os.path.join(directory, "sshd_config")
    with open(config, "w") as handle:
        handle.write(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\n"
                     f"PidFile {directory}/sshd.pid\nAuthorizedKeysFile "
                     f"{directory}/authorized_keys\nPermitRootLogin prohibit-password\n"
                     "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
                     "StrictModes no\nLogLevel ERROR\nDebianBanner no\n")
    os.makedirs("/run/sshd", exist_ok=True)
    process = subprocess.Popen([sshd, "-D", "-e", "-f", config], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    try:
        wait_port(port, process, what="sshd")
        yield port, client_key
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)
        shutil.rmtree(directory, ignore_errors=True)


def audit(port: int, **options):
    runner = RuleRunner(Config())
    findings, diagnostics = [], []
    kept: list = []
    run_live([parse_target(f"ssh://root@127.0.0.1:{port}")],
             ProbeOptions(timeout=10.0, **options), runner, findings, diagnostics, kept=kept)
    return findings, [fact for _, _, fact in kept]


def test_hidden_banner_alone_is_an_info_note(hidden_banner_sshd):
    port, _ = hidden_banner_sshd
    findings, facts = audit(port)
    (server,) = [f for f in facts if isinstance(f, SshServer)]
    assert server.comments == "" and server.software.startswith("OpenSSH_")
    ssh008 = [f for f in findings if f.rule.id == "SSH008"]
    assert [f.severity for f in ssh008] == [Severity.INFO]
    assert "not evidence of a vulnerable version" in ssh008[0].message


def test_read_as_a_host_the_package_version_decides(hidden_banner_sshd):
    port, key = hidden_banner_sshd
    installed = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "openssh-server"],
                               capture_output=True, text=True, check=True).stdout.strip()
    findings, facts = audit(port, ssh_key=key, ssh_accept_unknown_host=True)
    (host,) = [f for f in facts if isinstance(f, HostFacts)]
    (server,) = [f for f in facts if isinstance(f, SshServer)]
    assert host.ssh_package == server.package == f"dpkg {installed}"
    # this machine's package is judged like a banner's build: no INFO note any more
    ssh008 = [f for f in findings if f.rule.id == "SSH008"]
    assert all(f.severity != Severity.INFO for f in ssh008)
    assert not any("not evidence" in f.message for f in ssh008)


@pytest.mark.parametrize("manager, file, output, expected", [
    ("dpkg", "dpkg-openssh-server.txt", "1:9.2p1-2+deb12u3", "dpkg 1:9.2p1-2+deb12u3"),
    ("rpm", "rpm-openssh-server.txt", "8.7p1-38.el9", "rpm 8.7p1-38.el9"),
    ("apk", "apk-openssh-server.txt",
     "openssh-server-9.7_p1-r4 x86_64 {openssh} (SSH-1.0 AND BSD-2-Clause) [installed]\n",
     "apk 9.7_p1-r4"),
    ("apk", "apk-openssh-server.txt", "openssh-server-pam-9.7_p1-r4 x86_64 {openssh} "
     "(SSH-1.0) [installed]\n", ""),                      # another package: not sshd's
])
def test_each_package_manager_names_the_installed_sshd(tmp_path, manager, file, output,
                                                       expected):
    """A snapshot of a Debian, RHEL or Alpine host: the package version of openssh-server
    is read from what its package manager printed, and nothing from a look-alike."""
    from labwarden.sources.live.collect import collect_sync

    (tmp_path / "ss.txt").write_text("Netid State Recv-Q Send-Q Local Address:Port Peer "
                                     "Address:Port Process\n")
    (tmp_path / file).write_text(output)
    facts, _ = collect_sync([parse_target(f"snapshot:{tmp_path}")], ProbeOptions())
    (host,) = [f for f in facts if isinstance(f, HostFacts)]
    assert (host.ssh_package or "") == expected
