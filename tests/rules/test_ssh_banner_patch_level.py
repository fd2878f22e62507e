"""SSH008 on a banner without a distribution build (issue 15): not evidence of a vulnerable
version, an INFO coverage note failing no checklist item; the host's package decides."""

from __future__ import annotations

from labwarden.model import Severity
from labwarden.rules import registry
from labwarden.settings import Settings
from labwarden.sources.live.ssh_wire import SshServer, parse_banner


def server(banner: str, package: str = "") -> SshServer:
    protocol, software, comments = parse_banner(banner)
    return SshServer("ssh://10.0.0.5", "10.0.0.5", 22, banner, protocol, software, comments,
                     package=package)


def hits(fact):
    (rule,) = [r for r in registry.rules_for(SshServer) if r.id == "SSH008"]
    return list(rule.check(fact, Settings()))


def test_a_banner_without_a_build_is_an_info_note_that_fails_no_item():
    (hit,) = hits(server("SSH-2.0-OpenSSH_9.2p1"))        # DebianBanner no
    assert hit.severity == Severity.INFO and hit.checklist == ()
    assert "not evidence of a vulnerable version" in hit.message
    assert "package version" in hit.message


def test_the_hosts_package_decides_when_the_banner_says_nothing():
    assert hits(server("SSH-2.0-OpenSSH_9.2p1", "dpkg 1:9.2p1-2+deb12u3")) == []
    (hit,) = hits(server("SSH-2.0-OpenSSH_9.2p1", "dpkg 1:9.2p1-2+deb12u2"))
    assert hit.severity == Severity.HIGH and hit.checklist is None
    assert "debian package 2+deb12u2 predates the fix 2+deb12u3" in hit.message
    # a package the table cannot judge (RPM) leaves the note, naming it
    (hit,) = hits(server("SSH-2.0-OpenSSH_8.7", "rpm 8.7p1-38.el9"))
    assert hit.severity == Severity.INFO and "rpm 8.7p1-38.el9" in hit.message


def test_a_build_in_the_banner_is_judged_as_before():
    (hit,) = hits(server("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2"))
    assert hit.severity == Severity.HIGH
    assert hits(server("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3")) == []
