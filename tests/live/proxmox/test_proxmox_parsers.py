"""The Proxmox parsers, pure functions over text. No Proxmox runs here: every input is a
real-format file written from the Proxmox VE documentation (pct.conf(5), qm.conf(5),
pve-firewall(8), vzdump(1), storage.cfg and user.cfg as the admin guide shows them)."""

from __future__ import annotations

import pytest

from labwarden.sources.proxmox.backup import (
    Entry,
    parse_jobs_cfg,
    parse_pools,
    parse_storage_cfg,
    parse_vzdump_cron,
    retention_of,
)
from labwarden.sources.proxmox.conf import parse_guest_config, property_string
from labwarden.sources.proxmox.fw import parse_fw

CT = """\
#Media server
#second line of the description
arch: amd64
features: nesting=1,keyctl=1
hostname: media
mp0: /tank/media,mp=/media,ro=1
net0: name=eth0,bridge=vmbr0,firewall=1,ip=dhcp,type=veth
rootfs: local-lvm:vm-101-disk-0,size=8G
lxc.cgroup2.devices.allow: c 226:* rwm
lxc.mount.entry = /dev/dri dev/dri none bind,optional,create=dir
unprivileged: 0

[before-upgrade]
hostname: media
unprivileged: 1

[pve:pending]
unprivileged: 1
"""


def conf(text: str, kind: str = "lxc"):
    return parse_guest_config(text, vmid=101, kind=kind, node="pve1", path="101.conf")


def test_only_the_part_before_the_first_section_is_the_running_configuration():
    parsed = conf(CT)
    assert parsed.value("unprivileged") == "0"            # not the snapshot's, not pending
    assert parsed.get("unprivileged").line == 11
    assert parsed.sections == ["before-upgrade", "pve:pending"]
    assert parsed.problems == []


def test_raw_lxc_keys_take_colon_or_equals_and_may_repeat():
    parsed = conf(CT + "")
    raw = {(e.key, e.line) for e in parsed.raw("lxc.")}
    assert raw == {("lxc.cgroup2.devices.allow", 9), ("lxc.mount.entry", 10)}
    twice = conf("lxc.mount.entry: /a a none bind 0 0\nlxc.mount.entry: /b b none bind 0 0\n")
    assert [e.value.split()[0] for e in twice.raw("lxc.mount.entry")] == ["/a", "/b"]
    assert twice.problems == []


def test_indexed_keys_and_the_description_is_not_a_key():
    parsed = conf(CT)
    assert [e.key for e in parsed.indexed("mp")] == ["mp0"]
    assert [e.key for e in parsed.indexed("net")] == ["net0"]
    assert parsed.get("Media server") is None and "#" not in [e.key[:1] for e in parsed.entries]


def test_a_key_twice_keeps_the_first_and_a_broken_line_is_reported_with_its_line():
    parsed = conf("unprivileged: 1\nhostname: a\nunprivileged: 0\nthis is not a key\n")
    assert parsed.value("unprivileged") == "1"
    assert parsed.problems == [(3, "`unprivileged` set twice: the first value counts"),
                               (4, "not a `key: value` line")]


@pytest.mark.parametrize("text, default, expected", [
    ("local-lvm:vm-101-disk-0,size=8G", "volume",
     {"volume": "local-lvm:vm-101-disk-0", "size": "8G"}),
    ("/tank/media,mp=/media,ro=1", "volume", {"volume": "/tank/media", "mp": "/media", "ro": "1"}),
    ("name=eth0,bridge=vmbr0,firewall=1", None, {"name": "eth0", "bridge": "vmbr0",
                                                 "firewall": "1"}),
    ('/srv/a,mp=/a,mountoptions="noatime;nodev"', "volume",
     {"volume": "/srv/a", "mp": "/a", "mountoptions": "noatime;nodev"}),
    ('local:snippets/ci.yaml,"x=1,y=2"', "volume", {"volume": "local:snippets/ci.yaml",
                                                     '"x': '1,y=2"'}),
])
def test_property_strings(text, default, expected):
    assert property_string(text, default) == expected


FW = """\
[OPTIONS]
enable: 1
policy_in: DROP # the default, written out

[IPSET management] # admin workstations
192.168.2.0/24
!192.168.2.99 # not this one

[RULES]
IN SSH(ACCEPT) -source +management -log nolog
|IN ACCEPT -p tcp -dport 8006
GROUP webserver
OUT ACCEPT

[group webserver]
IN HTTPS(ACCEPT) -log nolog
"""


def test_firewall_sections_options_rules_and_ipsets():
    fw = parse_fw(FW, "cluster.fw")
    assert fw.option("enable").value == "1" and fw.option("enable").line == 2
    assert fw.option("policy_in").value == "DROP"
    assert fw.ipsets == {"management": ["192.168.2.0/24", "!192.168.2.99"]}
    assert [(r.direction, r.action, r.enabled, r.line) for r in fw.rules] == [
        ("IN", "SSH(ACCEPT)", True, 10), ("IN", "ACCEPT", False, 11),
        ("GROUP", "webserver", True, 12), ("OUT", "ACCEPT", True, 13)]
    assert [r.action for r in fw.groups["webserver"]] == ["HTTPS(ACCEPT)"]
    assert fw.problems == []


def test_firewall_problems_have_their_line():
    fw = parse_fw("[OPTIONS]\nenable 1\n[RULES]\nACCEPT everything\n[BOGUS]\n", "101.fw")
    assert fw.problems == [(2, "not a `key: value` option"), (4, "not a firewall rule"),
                           (5, "unknown section [BOGUS]")]
    assert fw.option("enable") is None


JOBS = """\
vzdump: backup-daily
\tschedule 02:30
\tall 1
\texclude 200,9000
\tnode pve1
\tprune-backups keep-daily=7,keep-weekly=4
\tstorage pbs-main

realm-sync: sync-ldap
\tschedule daily
\trealm ldap

vzdump: backup-web
\tschedule mon..fri 01:00
\tenabled 0
\tpool web
\tstorage nas
\tmaxfiles 3

vzdump: backup-bad
\tschedule sat
\tvmid 101,abc
"""


def test_jobs_cfg_reads_vzdump_jobs_only():
    jobs, problems = parse_jobs_cfg(JOBS, "jobs.cfg")
    assert problems == []
    assert [j.id for j in jobs] == ["backup-daily", "backup-web", "backup-bad"]
    daily, web, bad = jobs
    assert (daily.line, daily.all, daily.exclude, daily.nodes, daily.storage.value) == \
        (1, True, (200, 9000), ("pve1",), "pbs-main")
    assert daily.enabled and daily.schedule == "02:30" and daily.prune.line == 6
    assert (web.enabled, web.pool, web.maxfiles.value, web.all) == (False, "web", "3", False)
    assert bad.vmids == (101,) and bad.problems == [(22, "`vmid`: 'abc' is not a guest ID")]


CRON = """\
# cluster wide vzdump cron schedule
# Automatically generated file - do not edit

PATH="/usr/sbin:/usr/bin:/sbin:/bin"

0 2 * * *           root vzdump 100 101 --quiet 1 --mode snapshot --storage local --prune-backups keep-last=3
30 3 * * sat        root #vzdump --all 1 --exclude 105 --storage nas
15 4 * * mon,thu    root vzdump --all=1 --node pve2 --maxfiles 2
this line is broken
"""


def test_vzdump_cron_jobs_schedule_and_disabled_lines():
    jobs, problems = parse_vzdump_cron(CRON, "vzdump.cron")
    assert problems == [(9, "not a vzdump schedule line")]
    first, second, third = jobs
    assert (first.vmids, first.storage.value, first.prune.value, first.enabled) == \
        ((100, 101), "local", "keep-last=3", True)
    assert first.schedule == "* 02:00" and first.line == 6
    assert (second.enabled, second.all, second.exclude) == (False, True, (105,))
    assert (third.all, third.nodes, third.maxfiles.value) == (True, ("pve2",), "2")


def test_storage_cfg_keeps_no_secret():
    text = ("pbs: pbs-main\n\tdatastore store1\n\tserver 192.168.2.30\n\tcontent backup\n"
            "\tencryption-key 12:34:56\n\tusername backup@pbs\n\n"
            "cifs: smb\n\tserver 192.168.2.41\n\tshare backups\n\tusername svc\n"
            "\tpassword Sup3r-S3cret-Value\n\tcontent backup\n\tmaxfiles 0\n\tdisable\n")
    storages, problems = parse_storage_cfg(text, "storage.cfg")
    assert problems == []
    assert storages["pbs-main"].backup_server and not storages["smb"].backup_server
    assert storages["smb"].disabled and storages["smb"].maxfiles.value == "0"
    assert "Sup3r-S3cret-Value" not in repr(storages)


def test_pools_come_from_pool_lines_only():
    text = ("user:root@pam:1:0:::root@example.invalid:::\n"
            "pool:web:Web services:101,102:local-zfs:\n"
            "pool:empty::::\n"
            "acl:1:/pool/web:@admins:PVEAdmin:\n")
    assert parse_pools(text) == {"web": {101, 102}, "empty": set()}


@pytest.mark.parametrize("prune, maxfiles, kept", [
    ("keep-daily=7,keep-weekly=4", None, "keep-daily=7,keep-weekly=4"),
    ("keep-all=1", None, "keep-all=1"),
    ("keep-last=0", None, "keep-all=1"),          # nothing positive is kept: no pruning
    (None, "3", "keep-last=3"),
    (None, "0", "keep-all=1"),                   # maxfiles 0 meant "no limit"
])
def test_retention(prune, maxfiles, kept):
    found = retention_of(Entry("prune-backups", prune, 4) if prune else None,
                         Entry("maxfiles", maxfiles, 5) if maxfiles else None, "job x", "j")
    assert str(found) == kept
    assert found.line == (4 if prune else 5)
    assert retention_of(None, None, "job x", "j") is None
