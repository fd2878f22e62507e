"""Proxmox evidence reaching each service's checklist, end to end through the command line:
the inventory says which guest each host is (`proxmox: {node: pve1, vmid: …}`), the node is
a `snapshot:` (collected without --live), and `labwarden checklist` answers the firewall,
container and backup items from the node's files.

No Proxmox runs here: node/pve1 is written from the Proxmox VE documentation (README.md
there). Its guests: a clean LXC (101), a privileged LXC (102), an LXC whose firewall is off
(103), a VM in no backup job (200) and a clean VM (201). The node's own sshd allows root
with a password: that must not reach the guests' services.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from labwarden.cli import main

NODE = Path(__file__).parent / "node" / "pve1"
TODAY = "2026-12-01"
GUESTS = {"docker-01": ("lxc", 101), "media": ("lxc", 102), "db": ("lxc", 103),
          "nextcloud": ("vm", 200), "vault": ("vm", 201)}


@pytest.fixture()
def lab(tmp_path: Path, monkeypatch) -> Path:
    shutil.copytree(NODE, tmp_path / "pve1")
    services = {name: {"deployment_type": kind, "host": name, "owner": "ops"}
                for name, (kind, _) in GUESTS.items()}
    # a Compose service running inside the docker-01 container
    services["app"] = {"deployment_type": "docker", "host": "docker-01"}
    hosts = {"pve1": {"address": f"snapshot:{tmp_path / 'pve1'}"}}
    hosts.update({name: {"proxmox": {"node": "pve1", "vmid": vmid}}
                  for name, (_, vmid) in GUESTS.items()})
    (tmp_path / "labwarden.yaml").write_text(yaml.safe_dump({"services": services,
                                                             "hosts": hosts}))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def items(capsys, service: str) -> dict[str, dict]:
    code = main(["checklist", service, "--format", "json", "--today", TODAY])
    out, err = capsys.readouterr()
    assert code == 0, err
    return {i["id"]: i for i in json.loads(out)["items"]}


def failing(capsys, service: str, item: str) -> list[str]:
    """The findings that fail `item`, as the Markdown record lists them: `ID `RULE` text
    (`file:line`)`."""
    code = main(["checklist", service, "--format", "markdown", "--today", TODAY])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    start = next(n for n, line in enumerate(lines) if f"*({item}," in line)
    found = []
    for line in lines[start + 1:]:
        if not line.startswith("  - "):
            break
        if re.match(r"[A-Z]+-\d{3} `", line[4:]):      # not the item's note
            found.append(line[4:])
    return found


def status(found: dict[str, dict], *ids: str) -> dict[str, str]:
    return {i: found[i]["status"] for i in ids}


PROXMOX_ITEMS = ("3.4.1", "3.4.2", "4.2.1", "4.2.3", "4.3.1", "4.3.2", "5.1.1", "5.1.3")


def test_a_clean_container_passes_on_the_nodes_evidence(lab, capsys):
    found = items(capsys, "docker-01")
    assert status(found, *PROXMOX_ITEMS) == dict.fromkeys(PROXMOX_ITEMS, "PASS")
    assert "pbs-main" in found["5.1.1"]["note"] and "keep-daily=7" in found["5.1.3"]["note"]
    # the node's sshd (PermitRootLogin yes) is not the guest's: not examined, not failed
    assert found["1.4.4"]["status"] == "OPEN" and found["1.4.1"]["status"] == "OPEN"
    assert found["1.4.4"]["findings"] == []


def test_a_privileged_container_fails_4_2_1_and_4_2_3(lab, capsys):
    found = items(capsys, "media")
    assert status(found, "4.2.1", "4.2.3") == {"4.2.1": "FAIL", "4.2.3": "FAIL"}
    [finding] = failing(capsys, "media", "4.2.3")
    assert "`PVE001`" in finding and "lxc/102.conf`" in finding
    assert found["4.2.4"]["status"] == "FAIL"                 # /dev/dri passed through
    assert status(found, "3.4.2", "5.1.1") == {"3.4.2": "PASS", "5.1.1": "PASS"}


def test_a_guest_with_its_firewall_off_fails_3_4_2(lab, capsys):
    found = items(capsys, "db")
    assert found["3.4.2"]["status"] == "FAIL"
    [finding] = failing(capsys, "db", "3.4.2")
    assert "`PVE010`" in finding and finding.endswith("firewall/103.fw:2`)")
    assert found["3.4.1"]["status"] == "PASS"                 # the datacenter's is on


def test_a_guest_in_no_backup_job_fails_5_1_1(lab, capsys):
    found = items(capsys, "nextcloud")
    assert found["5.1.1"]["status"] == "FAIL"
    [finding] = failing(capsys, "nextcloud", "5.1.1")
    assert "`PVE020`" in finding and "backup-3f1c2a9e-7d41 (excludes it)" in finding
    # no job covers it, so no job's retention is its: examined, not shown
    assert found["5.1.3"]["status"] == "OPEN" and "examined" in found["5.1.3"]["note"]
    assert found["4.2.3"]["status"] == "N/A"                  # a VM


def test_a_clean_vm_passes_its_firewall_and_backup_items(lab, capsys):
    found = items(capsys, "vault")
    assert status(found, "3.4.1", "3.4.2", "5.1.1", "5.1.3") == dict.fromkeys(
        ("3.4.1", "3.4.2", "5.1.1", "5.1.3"), "PASS")


def test_a_docker_service_inside_a_container_gets_the_backup_not_the_containers_isolation(
        lab, capsys):
    """An unprivileged LXC says nothing about whether the Docker containers in it run as
    root: 4.2.1 is not proven by it; the guest's backup job does cover the service."""
    found = items(capsys, "app")
    assert found["4.2.1"]["status"] == "OPEN" and found["4.2.3"]["status"] == "OPEN"
    assert status(found, "5.1.1", "5.1.3") == {"5.1.1": "PASS", "5.1.3": "PASS"}


def test_without_the_node_the_items_stay_open_and_say_what_would_answer_them(lab, capsys):
    config = yaml.safe_load((lab / "labwarden.yaml").read_text())
    del config["hosts"]["docker-01"]["proxmox"]
    (lab / "labwarden.yaml").write_text(yaml.safe_dump(config))
    found = items(capsys, "docker-01")
    for item in ("3.4.2", "5.1.1", "5.1.3"):
        assert found[item]["status"] == "OPEN"
        assert "proxmox" in found[item]["needs"], found[item]


def test_a_guest_whose_node_is_not_a_host_is_a_configuration_error(lab, capsys):
    config = yaml.safe_load((lab / "labwarden.yaml").read_text())
    config["hosts"]["vault"]["proxmox"]["node"] = "pve9"
    (lab / "labwarden.yaml").write_text(yaml.safe_dump(config))
    code = main(["checklist", "vault", "--today", TODAY])
    _, err = capsys.readouterr()
    assert code == 2
    assert "labwarden.yaml:" in err and "'pve9' is not another host" in err
    assert "Traceback" not in err
