"""The host-side rules on real `sshd -T` / `sshd -t` output of the WEAK and HARDENED servers'
configs, and `collect_sshd` over transports (a stand-in that runs sshd with `-f`, the
snapshot transport, this machine's own sshd)."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import sshd_servers
from ssh_probe import sshd_run

from labwarden.model import Location, Severity
from labwarden.rules.registry import rules_for
from labwarden.settings import DEFAULT
from labwarden.sources.live.transport import CommandResult, LocalTransport, SnapshotTransport
from labwarden.sources.sshd_config import (
    SshdConfig,
    collect_sshd,
    parse_sshd_config,
    parse_sshd_T,
    parse_sshd_t_result,
)


def findings(fact) -> dict[str, list]:
    found: dict[str, list] = {}
    for rule in rules_for(SshdConfig):
        for hit in rule.check(fact, DEFAULT):
            found.setdefault(rule.id, []).append(hit)
    return found


def effective(config_path: Path) -> SshdConfig:
    result = sshd_run("-T", "-f", str(config_path))
    assert result.returncode == 0, result.stderr
    config = parse_sshd_T(result.stdout, file_config=parse_sshd_config(str(config_path)))
    check = sshd_run("-t", "-f", str(config_path))
    config.validation = parse_sshd_t_result(check.returncode, check.stdout, check.stderr)
    return config


def line_of(path: Path, keyword: str) -> Location:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if line.split() and line.split()[0].lower() == keyword.lower():
            return Location(str(path), number)
    raise AssertionError(f"{keyword} not in {path}")


def test_every_planted_config_weakness_is_reported_at_its_line(weak_sshd):
    config = effective(weak_sshd.config)
    found = findings(config)
    expected = {"SSH020": "PermitRootLogin", "SSH021": "PasswordAuthentication",
                "SSH022": "KbdInteractiveAuthentication", "SSH023": "PermitEmptyPasswords",
                "SSH025": "MaxAuthTries", "SSH027": "X11Forwarding"}
    for rule_id, keyword in expected.items():
        assert [h.location for h in found[rule_id]] == [line_of(weak_sshd.config, keyword)]
    assert found["SSH020"][0].severity is Severity.HIGH
    assert found["SSH023"][0].severity is None                 # CRITICAL: passwords are on
    assert found["SSH024"][0].location == Location(str(weak_sshd.config))
    assert set(found) == set(expected) | {"SSH024"}            # listens on a high port; valid


def test_nothing_is_reported_on_the_hardened_config(hardened_sshd):
    config = effective(hardened_sshd.config)
    assert config.validation.ok
    assert findings(config) == {}


def test_port_22_and_defaults(tmp_path):
    key = sshd_servers.make_host_key(tmp_path, "ed25519")
    path = tmp_path / "sshd_config"
    path.write_text(f"HostKey {key}\nPermitRootLogin no\nAllowGroups ssh-users\n"
                    "PasswordAuthentication no\nKbdInteractiveAuthentication no\n")
    found = findings(effective(path))
    assert set(found) == {"SSH025", "SSH026"}          # MaxAuthTries 6 and Port 22: defaults
    assert found["SSH026"][0].location == Location(str(path))
    assert "default" in found["SSH025"][0].evidence


def test_prohibit_password_is_medium(tmp_path):
    key = sshd_servers.make_host_key(tmp_path, "ed25519")
    path = tmp_path / "sshd_config"
    path.write_text(f"HostKey {key}\nPermitRootLogin prohibit-password\n")
    hit = findings(effective(path))["SSH020"][0]
    assert hit.severity is Severity.MEDIUM and hit.location == Location(str(path), 2)


def test_sshd_t_rejection_points_at_the_line(tmp_path):
    key = sshd_servers.make_host_key(tmp_path, "ed25519")
    path = tmp_path / "sshd_config"
    path.write_text(f"HostKey {key}\nPermitRootLogin no\nPermitRootLogn no\n")
    check = sshd_run("-t", "-f", str(path))
    assert check.returncode != 0
    config = parse_sshd_config(str(path))
    config.validation = parse_sshd_t_result(check.returncode, check.stdout, check.stderr)
    hit = findings(config)["SSH028"][0]
    assert hit.location == Location(str(path), 3)
    assert "PermitRootLogn" in hit.message


# --- collect_sshd over transports --------------------------------------------------------

class SshdWithConfig(LocalTransport):
    """A local transport whose `sshd -T`/`sshd -t` read a given config (`-f`)."""

    def __init__(self, config: Path):
        super().__init__()
        self.config = config

    async def run(self, argv):
        assert argv[0] == "sshd" and argv[1:] in (["-T"], ["-t"])
        result = await asyncio.to_thread(sshd_run, argv[1], "-f", str(self.config))
        return CommandResult(result.returncode, result.stdout, result.stderr)


def test_collect_over_a_transport(weak_sshd, hardened_sshd):
    weak = asyncio.run(collect_sshd(SshdWithConfig(weak_sshd.config), host="weak",
                                    config_path=str(weak_sshd.config)))
    assert weak.effective and weak.validation.ok and weak.asset == "sshd:weak"
    assert weak.value("PermitRootLogin")[1].location == line_of(weak_sshd.config,
                                                                 "PermitRootLogin")
    assert {"SSH020", "SSH021", "SSH022", "SSH023", "SSH024", "SSH025", "SSH027"} == \
        set(findings(weak))
    hardened = asyncio.run(collect_sshd(SshdWithConfig(hardened_sshd.config),
                                        config_path=str(hardened_sshd.config)))
    assert findings(hardened) == {}


def test_collect_from_a_snapshot_with_a_cloud_init_drop_in(tmp_path, weak_sshd):
    """A snapshot taken on a cloud host: sshd -T saved, the files copied under files/."""
    key = sshd_servers.make_host_key(tmp_path, "ed25519")
    etc = tmp_path / "etc-ssh"
    (etc / "sshd_config.d").mkdir(parents=True)
    (etc / "sshd_config").write_text(
        f"Include {etc}/sshd_config.d/*.conf\nHostKey {key}\nPasswordAuthentication no\n"
        "PermitRootLogin no\nAllowUsers admin\nMaxAuthTries 3\nPort 2222\n")
    (etc / "sshd_config.d" / "50-cloud-init.conf").write_text("PasswordAuthentication yes\n")
    snapshot = tmp_path / "snapshot"
    (snapshot / "files" / "etc" / "ssh" / "sshd_config.d").mkdir(parents=True)
    (snapshot / "sshd_T.txt").write_text(sshd_run("-T", "-f", str(etc / "sshd_config")).stdout)
    (snapshot / "files/etc/ssh/sshd_config").write_text(
        (etc / "sshd_config").read_text().replace(str(etc), "/etc/ssh"))
    shutil.copy(etc / "sshd_config.d/50-cloud-init.conf",
                snapshot / "files/etc/ssh/sshd_config.d/50-cloud-init.conf")

    config = asyncio.run(collect_sshd(SnapshotTransport(str(snapshot)), host="cloud-vm"))
    found = findings(config)
    assert set(found) == {"SSH021"}
    assert found["SSH021"][0].location == Location("/etc/ssh/sshd_config.d/50-cloud-init.conf", 1)
    assert config.validation is None                     # not in a snapshot: a gap, not a pass
    assert "sshd-t" in {d.code for d in config.diagnostics}


def test_collect_falls_back_to_the_files_with_defaults(tmp_path):
    class NoSshd(LocalTransport):
        async def run(self, argv):
            return CommandResult(127, "", "sshd: not found")

    path = tmp_path / "sshd_config"
    path.write_text("PermitRootLogin no\nAllowUsers admin\n")
    config = asyncio.run(collect_sshd(NoSshd(), config_path=str(path)))
    assert not config.effective and config.error is None
    assert set(findings(config)) == {"SSH021", "SSH022", "SSH025", "SSH026"} - {"SSH022"}
    assert {d.code for d in config.diagnostics} >= {"sshd-T", "sshd-t"}


def test_collect_on_this_machine():
    """This machine's own sshd (Debian's packaged config), through the local transport."""
    config = asyncio.run(collect_sshd(LocalTransport(), host="localhost"))
    assert config.files[0] == "/etc/ssh/sshd_config"
    if os.path.exists("/etc/ssh/ssh_host_ed25519_key"):
        assert config.effective and config.validation is not None
    assert "SSH024" in findings(config) or config.all("allowusers") or config.all("allowgroups")


def test_collect_lists_include_globs_through_the_transport(tmp_path):
    """A remote transport offering `async glob` (e.g. over SFTP): the drop-in is found."""
    files = {
        "/etc/ssh/sshd_config": b"Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n",
        "/etc/ssh/sshd_config.d/50-cloud-init.conf": b"PasswordAuthentication yes\n",
        "/etc/ssh/sshd_config.d/99-late.conf": b"PermitRootLogin yes\n",
    }
    asked = []

    class Remote:
        name = "ssh"

        async def run(self, argv):
            return CommandResult(127, "", "sshd: not found")

        async def read_file(self, path):
            return files.get(path)

        async def glob(self, pattern):
            asked.append(pattern)
            return [p for p in files if p.startswith(pattern.rstrip("*.conf"))]

    config = asyncio.run(collect_sshd(Remote(), host="vm"))
    assert asked == ["/etc/ssh/sshd_config.d/*.conf"]
    assert config.value("PasswordAuthentication")[1].location == Location(
        "/etc/ssh/sshd_config.d/50-cloud-init.conf", 1)
    assert config.setting("permitrootlogin") == "yes"        # the drop-in came first
    assert not any(d.code == "sshd-include" for d in config.diagnostics)


def test_collect_reuses_an_sshd_T_already_run(weak_sshd):
    calls = []

    class Counting(SshdWithConfig):
        async def run(self, argv):
            calls.append(argv)
            return await super().run(argv)

    transport = Counting(weak_sshd.config)
    done = asyncio.run(transport.run(["sshd", "-T"]))
    config = asyncio.run(collect_sshd(transport, sshd_T=done, config_path=str(weak_sshd.config)))
    assert calls == [["sshd", "-T"], ["sshd", "-t"]] and config.effective
