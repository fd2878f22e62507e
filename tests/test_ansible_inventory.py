"""Hosts and groups from Ansible inventories (YAML, INI, directories, group_vars/host_vars,
`ansible-inventory --list`), merged with labwarden.yaml's `hosts:`, and the host groups in
waivers. The same inventories are also read by the real `ansible-inventory` (Debian
ansible-core): labwarden must agree with Ansible on every host's address and groups."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from labwarden import ansible_inventory
from labwarden.ansible_inventory import AnsibleInventoryError
from labwarden.config import ConfigError, load_config
from labwarden.inventory import hosts_in_group, load_inventory

YAML_INVENTORY = """\
all:
  vars:
    ansible_user: admin
    ansible_password: hunter2-not-kept
  hosts:
    bastion.lab.example:
      ansible_host: 10.0.0.2
  children:
    proxmox:
      hosts:
        pve1: {ansible_host: 10.0.0.10}
        pve2: {ansible_host: 10.0.0.11, ansible_port: 2222}
    docker:
      vars:
        ansible_user: deploy
      hosts:
        web[01:03].lab.example:
      children:
        edge:
          hosts:
            proxy.lab.example: {ansible_user: root}
    control:
      hosts:
        localhost: {ansible_connection: local}
    windows:
      hosts:
        win1: {ansible_connection: winrm}
    templated:
      hosts:
        t1: {ansible_host: "{{ lookup('env', 'T1') }}"}
"""

INI_INVENTORY = """\
stray.lab.example

# a comment
[proxmox]
pve1 ansible_host=10.0.0.10
pve2 ansible_host=10.0.0.11 ansible_port=2222

[docker]
web[01:03].lab.example ansible_user=deploy
db.lab.example:2201

[edge]
proxy.lab.example ansible_user=root

[containers:children]
docker
edge

[containers:vars]
ansible_user=ops
ansible_become_pass=s3cret-not-kept

[control]
localhost ansible_connection=local
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def yaml_inventory(tmp_path: Path) -> Path:
    inventory = write(tmp_path / "inventory" / "hosts.yml", YAML_INVENTORY)
    write(tmp_path / "inventory" / "group_vars" / "edge.yml", "ansible_port: 2200\n")
    return inventory


@pytest.fixture
def ini_inventory(tmp_path: Path) -> Path:
    return write(tmp_path / "inventory" / "hosts", INI_INVENTORY)


def addresses(inventory) -> dict[str, str | None]:
    return {name: host.address for name, host in inventory.hosts.items()}


def test_a_yaml_inventory_gives_hosts_addresses_and_nested_groups(yaml_inventory: Path):
    found = ansible_inventory.load([str(yaml_inventory)])
    assert addresses(found) == {
        "bastion.lab.example": "ssh://admin@10.0.0.2",
        "pve1": "ssh://admin@10.0.0.10",
        "pve2": "ssh://admin@10.0.0.11:2222",
        # the group's user beats all's; the range expands; the child's own user wins
        "web01.lab.example": "ssh://deploy@web01.lab.example",
        "web02.lab.example": "ssh://deploy@web02.lab.example",
        "web03.lab.example": "ssh://deploy@web03.lab.example",
        # group_vars/edge.yml weighs more than the inventory file's variables
        "proxy.lab.example": "ssh://root@proxy.lab.example:2200",
        "localhost": "local://",
        "win1": None,
        "t1": None,
    }
    # a child group's hosts are in its parent too
    assert found.groups["docker"] == ("proxy.lab.example", "web01.lab.example",
                                      "web02.lab.example", "web03.lab.example")
    assert found.hosts["proxy.lab.example"].groups == ("docker", "edge")
    assert found.hosts["bastion.lab.example"].groups == ("ungrouped",)
    assert "winrm" in found.hosts["win1"].note
    assert "Jinja" in found.hosts["t1"].note
    # where each host is named, to the line
    assert found.hosts["pve2"].location.line == 12
    assert found.hosts["web02.lab.example"].location.line == 17


def test_an_ini_inventory_gives_the_same_kind_of_answer(ini_inventory: Path):
    found = ansible_inventory.load([str(ini_inventory)])
    assert addresses(found) == {
        "stray.lab.example": "ssh://stray.lab.example",
        "pve1": "ssh://10.0.0.10",
        "pve2": "ssh://10.0.0.11:2222",
        "web01.lab.example": "ssh://deploy@web01.lab.example",
        "web02.lab.example": "ssh://deploy@web02.lab.example",
        "web03.lab.example": "ssh://deploy@web03.lab.example",
        "db.lab.example": "ssh://ops@db.lab.example:2201",     # host:port, the parent's user
        "proxy.lab.example": "ssh://root@proxy.lab.example",
        "localhost": "local://",
    }
    assert found.groups["containers"] == ("db.lab.example", "proxy.lab.example",
                                          "web01.lab.example", "web02.lab.example",
                                          "web03.lab.example")
    assert found.hosts["db.lab.example"].groups == ("containers", "docker")
    assert found.groups["ungrouped"] == ("stray.lab.example",)
    assert found.hosts["pve2"].location.line == 6


def test_no_other_variable_is_kept(yaml_inventory: Path, ini_inventory: Path):
    for path in (yaml_inventory, ini_inventory):
        found = ansible_inventory.load([str(path)])
        assert "hunter2" not in repr(found) and "s3cret" not in repr(found)


@pytest.mark.parametrize("which", ["yaml", "ini"])
def test_labwarden_agrees_with_ansible_inventory(which: str, yaml_inventory: Path,
                                                 ini_inventory: Path):
    """The real ansible-inventory reads the same files (use_ansible), and its `--list` JSON
    gives the same addresses and groups as labwarden's own reading."""
    if shutil.which("ansible-inventory") is None:
        pytest.fail("ansible-inventory not found: install the Debian package ansible-core",
                    pytrace=False)
    path = str(yaml_inventory if which == "yaml" else ini_inventory)
    ours = ansible_inventory.load([path])
    theirs = ansible_inventory.load([path], use_ansible=True)
    assert addresses(theirs) == addresses(ours)
    assert {n: h.groups for n, h in theirs.hosts.items()} == \
        {n: h.groups for n, h in ours.hosts.items()}
    assert theirs.groups == ours.groups


def test_a_directory_inventory_reads_every_file_and_host_vars(tmp_path: Path):
    base = tmp_path / "inv"
    write(base / "10-proxmox.yml", "proxmox:\n  hosts:\n    pve1:\n")
    write(base / "20-docker.ini", "[docker]\ndocker1 ansible_host=10.0.0.20\n")
    write(base / "README.md", "not an inventory\n")
    write(base / "host_vars" / "pve1.yml", "ansible_host: 10.0.0.10\nansible_user: root\n")
    write(base / "group_vars" / "all" / "main.yml", "ansible_user: admin\n")
    found = ansible_inventory.load([str(base)])
    assert addresses(found) == {"pve1": "ssh://root@10.0.0.10",
                                "docker1": "ssh://admin@10.0.0.20"}


@pytest.mark.parametrize("name, text, line, message", [
    ("hosts.yml", "all:\n  hosts:\n    a:\n      ansible_port: 70000\n", 4,
     "ansible_port must be a port number"),
    ("hosts", "[web]\na ansible_port=http\n", 2, "ansible_port must be a port number"),
    ("hosts", "[web\na\n", 1, "not an inventory section header"),
    ("hosts", "[web]\nweb[9:1].lab\n", 2, "is not a range Ansible expands"),
    ("hosts", "[web]\nweb[0:99999999].lab\n", 2, "is not a range Ansible expands"),
    ("hosts.yml", "plugin: community.general.proxmox\nurl: https://pve:8006\n", 1,
     "inventory plugin configuration"),
    ("hosts.yml", "all:\n  hosts:\n    a: {ansible_user: 'x y'}\n", 3, "is not a user name"),
    ("hosts", "#!/usr/bin/env python3\nprint('{}')\n", 1, "an inventory script"),
    ("hosts.yml", "all:\n  hosts: [a, b]\n", 2, "`hosts` must be a mapping"),
])
def test_a_bad_inventory_is_an_error_at_its_line(tmp_path: Path, name: str, text: str,
                                                 line: int, message: str):
    path = write(tmp_path / name, text)
    with pytest.raises(AnsibleInventoryError) as caught:
        ansible_inventory.load([str(path)])
    assert caught.value.location.path == str(path)
    assert caught.value.location.line == line
    assert message in caught.value.problems[0]


def test_a_cycle_of_children_is_an_error_not_a_hang(tmp_path: Path):
    path = write(tmp_path / "hosts", "[a:children]\nb\n[b:children]\na\n[a]\nh1\n")
    with pytest.raises(AnsibleInventoryError, match="its own ancestor"):
        ansible_inventory.load([str(path)])


def test_ansible_inventory_list_output_is_read_as_json(tmp_path: Path):
    path = write(tmp_path / "inventory.json", """\
        {"_meta": {"hostvars": {"h1": {"ansible_host": "10.0.0.7", "ansible_user": "ops",
                                        "ansible_password": "not-kept"}}},
         "all": {"children": ["ungrouped", "db"]},
         "db": {"hosts": ["h1"]}}
        """)
    found = ansible_inventory.load([str(path)])
    assert addresses(found) == {"h1": "ssh://ops@10.0.0.7"}
    assert found.hosts["h1"].groups == ("db",) and "not-kept" not in repr(found)


# --- labwarden.yaml: hosts: and ansible_inventory: together ----------------------------------

def lab(tmp_path: Path, text: str):
    path = write(tmp_path / "labwarden.yaml", text)
    return load_config(str(path))


def test_the_inventory_merges_hosts_and_ansible(tmp_path: Path, ini_inventory: Path):
    config = lab(tmp_path, """\
        hosts:
          pve1: {address: "snapshot:snaps/pve1", deployment_type: bare_metal, groups: [hv]}
          nas: {address: "ssh://admin@10.0.0.30", groups: [storage]}
        ansible_inventory: inventory/hosts
        services:
          web:
            host: web02.lab.example
        """)
    inventory = load_inventory(config)
    pve1 = inventory.hosts["pve1"]
    # labwarden.yaml's address and type win; the groups of both are kept
    assert (pve1.address, pve1.deployment_type, pve1.groups) == \
        (f"snapshot:{tmp_path / 'snaps' / 'pve1'}", "bare_metal", ("hv", "proxmox"))
    assert inventory.services["web"].host.address == "ssh://deploy@web02.lab.example"
    assert hosts_in_group(inventory, "containers") == {
        "db.lab.example", "proxy.lab.example", "web01.lab.example", "web02.lab.example",
        "web03.lab.example"}
    assert hosts_in_group(inventory, "storage") == {"nas"}
    assert hosts_in_group(inventory, "all") >= {"nas", "pve1", "stray.lab.example"}
    assert hosts_in_group(inventory, "nope") == set()


def test_use_ansible_runs_ansible_inventory(tmp_path: Path, yaml_inventory: Path):
    config = lab(tmp_path, """\
        ansible_inventory: {path: inventory/hosts.yml, use_ansible: true}
        """)
    inventory = load_inventory(config)
    assert inventory.hosts["pve2"].address == "ssh://admin@10.0.0.11:2222"
    assert hosts_in_group(inventory, "edge") == {"proxy.lab.example"}


@pytest.mark.parametrize("text, message", [
    ("ansible_inventory: nowhere.yml\n", "no Ansible inventory at"),
    ("ansible_inventory: {use_ansible: true}\n", "needs a `path:`"),
    ("ansible_inventory: 3\n", None),
    ("hosts:\n  h: {groups: ['bad group']}\n", "group name 'bad group' is not allowed"),
])
def test_a_bad_ansible_setting_is_a_configuration_error(tmp_path: Path, text: str,
                                                        message: str | None):
    try:
        config = lab(tmp_path, text)
        load_inventory(config)
    except (ConfigError, AnsibleInventoryError) as exc:
        assert "labwarden.yaml:1" in exc.problems[0] or "labwarden.yaml:2" in \
            exc.problems[0]
        if message:
            assert message in exc.problems[0]
    else:
        if message is not None:
            pytest.fail("accepted")


def test_an_ansible_host_name_labwarden_cannot_use_is_named(tmp_path: Path):
    write(tmp_path / "hosts", "[v6]\n2001:db8::1\n")
    with pytest.raises(ConfigError) as caught:
        load_inventory(lab(tmp_path, "ansible_inventory: hosts\n"))
    assert "hosts:2:" in caught.value.problems[0] and "alias" in caught.value.problems[0]
