"""Attestation scopes: one answer for the lab, a host or a group of services, and the
precedence that builds each service's record (service > group > host > lab); the names and
items a scope uses are checked against the inventory and the catalogue when the file is
read."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from labwarden.checklist.attest import AttestationBook, Scope, parse_scope, services_in
from labwarden.checklist.catalog import load_catalog
from labwarden.config import ConfigError, load_config
from labwarden.inventory import load_inventory

INVENTORY = """\
services:
  jellyfin: {host: pve1, groups: [media, public]}
  sonarr: {host: pve1, groups: [media]}
  vault: {host: pve1}
  wiki: {host: pve2, groups: [public]}
  cron: {}
hosts:
  pve1: {deployment_type: vm}
  pve2: {deployment_type: vm}
"""

BOOK = """\
# reviewed by alice
lab:
  items:
    "5.1.1": {by: lab-admin, date: 2026-11-01, note: PBS for every guest}
    "6.4.1": {by: lab-admin, date: 2026-11-01, note: Alertmanager}
hosts:
  pve1:
    items:
      "3.4.4": {by: hostie, date: 2026-11-02, note: nftables default drop}
      "6.4.1": {by: hostie, date: 2026-11-02, note: pve1 alerts}
groups:
  media:
    items:
      "3.4.4": {by: media-team, date: 2026-11-03, note: media VLAN}
      "6.2.1": {by: media-team, date: 2026-11-03, note: media logins logged}
  public:
    items:
      "6.2.1": {by: web-team, date: 2026-11-03, note: public logins logged}
services:
  sonarr:
    items:
      "3.4.4": {by: jdoe, date: 2026-11-04, note: sonarr has its own rules}
"""


@pytest.fixture()
def lab(tmp_path: Path):
    (tmp_path / "labwarden.yaml").write_text(INVENTORY)
    (tmp_path / "attestations.yaml").write_text(BOOK)
    inventory = load_inventory(load_config(str(tmp_path / "labwarden.yaml")))
    return tmp_path, inventory


def book_of(path: Path, inventory, text: str | None = None) -> AttestationBook:
    if text is not None:
        (path / "attestations.yaml").write_text(text)
    return AttestationBook(str(path / "attestations.yaml"), inventory, load_catalog(),
                           today=dt.date(2026, 12, 1))


def answer(book, inventory, service: str, item: str) -> tuple[str, str] | None:
    found = book.record_for(inventory.services[service]).items.get(item)
    return None if found is None else (found.scope, found.by)


def test_a_host_attestation_answers_every_service_on_that_host(lab) -> None:
    path, inventory = lab
    book = book_of(path, inventory)
    assert answer(book, inventory, "vault", "3.4.4") == ("host pve1", "hostie")
    assert answer(book, inventory, "jellyfin", "6.4.1") == ("host pve1", "hostie")
    assert answer(book, inventory, "vault", "6.4.1") == ("host pve1", "hostie")
    assert answer(book, inventory, "wiki", "3.4.4") is None          # another host
    assert answer(book, inventory, "wiki", "6.4.1") == ("lab", "lab-admin")


def test_the_most_specific_scope_wins(lab) -> None:
    path, inventory = lab
    book = book_of(path, inventory)
    assert answer(book, inventory, "sonarr", "3.4.4") == ("service", "jdoe")       # own
    assert answer(book, inventory, "jellyfin", "3.4.4") == ("group media", "media-team")
    assert answer(book, inventory, "vault", "3.4.4") == ("host pve1", "hostie")
    # Of two groups, the one the service lists first.
    assert answer(book, inventory, "jellyfin", "6.2.1") == ("group media", "media-team")
    assert answer(book, inventory, "wiki", "6.2.1") == ("group public", "web-team")
    # The lab reaches a service with no host and no group.
    assert answer(book, inventory, "cron", "5.1.1") == ("lab", "lab-admin")
    assert answer(book, inventory, "cron", "3.4.4") is None


def test_a_services_own_expired_attestation_is_not_hidden_by_the_labs(lab) -> None:
    path, inventory = lab
    own_line = '"3.4.4": {by: jdoe, date: 2026-11-04, note: sonarr has its own rules}'
    text = BOOK.replace(own_line, own_line + '\n      "5.1.1": {by: jdoe, date: 2026-01-01, '
                        'expires: 2026-06-30}')
    book = book_of(path, inventory, text)
    own = book.record_for(inventory.services["sonarr"]).items["5.1.1"]
    assert own.scope == "service" and own.expired(dt.date(2026, 12, 1))


def test_records_keep_approvals_and_deployment_per_service(lab) -> None:
    path, inventory = lab
    book = book_of(path, inventory, BOOK + "    approvals:\n      service_owner: {name: jdoe, "
                   "date: 2026-11-05}\n")
    assert book.record_for(inventory.services["sonarr"]).approvals["service_owner"].name == \
        "jdoe"
    assert book.record_for(inventory.services["vault"]).approvals == {}


def test_which_services_a_scope_answers_for(lab) -> None:
    _, inventory = lab

    def names(text: str) -> list[str]:
        return [s.name for s in services_in(parse_scope(text), inventory)]

    assert names("lab") == ["jellyfin", "sonarr", "vault", "wiki", "cron"]
    assert names("host pve1") == ["jellyfin", "sonarr", "vault"]
    assert names("group public") == ["jellyfin", "wiki"]
    assert names("service wiki") == ["wiki"]
    assert parse_scope("group media") == Scope("group", "media")
    for bad, message in (("lab x", "takes no name"), ("host", "needs a name"),
                         ("hots pve1", "did you mean 'host'?")):
        with pytest.raises(ValueError, match=message):
            parse_scope(bad)


@pytest.mark.parametrize("text, line, message", [
    ("hosts:\n  pve-1:\n    items: {}\n", 2, "host 'pve-1' is not defined under `hosts:` in "
     "the inventory; did you mean 'pve1'?"),
    ("groups:\n  meda:\n    items: {}\n", 2, "group 'meda' is not declared by any service "
     "or host (`groups:`, or the Ansible inventory); did you mean 'media'?"),
    ("services:\n  sonar:\n    items: {}\n", 2, "service 'sonar' is not defined in the "
     "inventory; did you mean 'sonarr'?"),
    ("lab:\n  items:\n    \"5.1.9\": {by: a, date: 2026-11-01}\n", 3,
     "no checklist item '5.1.9'; did you mean"),
    ("lab:\n  items:\n    \"5.1.1\": {by: a, date: 2026-11-01, expires: 2026-10-01}\n", 3,
     "expires (2026-10-01) before its date (2026-11-01)"),
    ("lab:\n  item: {}\n", 2, "unknown key 'item' in `lab`; did you mean 'items'?"),
    ("host:\n  pve1: {}\n", 1, "unknown key 'host' in the attestation file; did you mean "
     "'hosts'?"),
    ("hosts:\n  pve1:\n    itmes: {}\n", 3, "did you mean 'items'?"),
    ("groups:\n  media: [a]\n", 2, "group 'media' must be a mapping with `items:`"),
    ("hosts:\n  pve1:\n    items:\n      \"3.4.4\": {by: a, date: 2026-11-01, expire: "
     "2027-01-01}\n", 4, "did you mean 'expires'?"),
])
def test_the_file_is_checked_against_the_inventory_and_catalogue(lab, text, line,
                                                                  message) -> None:
    path, inventory = lab
    with pytest.raises(ConfigError) as error:
        book_of(path, inventory, text)
    assert message in str(error.value)
    assert f"attestations.yaml:{line}:" in str(error.value)


def test_without_an_inventory_only_the_schema_is_checked(lab) -> None:
    path, _ = lab
    (path / "attestations.yaml").write_text("hosts:\n  anything:\n    items: {}\n")
    assert AttestationBook(str(path / "attestations.yaml")).scoped[Scope("host", "anything")] \
        == {}


@pytest.mark.parametrize("spec, message", [
    ("groups: [a/b]", "group name 'a/b' is not allowed"),
    ("groups: [ok, ..]", "group name '..' is not allowed"),
    ("groups: {a: 1}", "`services.x.groups` must be a list of text or text"),
])
def test_inventory_groups_are_names(tmp_path: Path, spec, message) -> None:
    (tmp_path / "labwarden.yaml").write_text(f"services:\n  x:\n    {spec}\n")
    with pytest.raises(ConfigError, match="labwarden.yaml:3") as error:
        load_inventory(load_config(str(tmp_path / "labwarden.yaml")))
    assert message in str(error.value)


def test_a_single_group_may_be_written_as_text(tmp_path: Path) -> None:
    (tmp_path / "labwarden.yaml").write_text("services:\n  x: {groups: media}\n"
                                             "  y: {groups: [media, media, web]}\n")
    inventory = load_inventory(load_config(str(tmp_path / "labwarden.yaml")))
    assert inventory.services["x"].groups == ("media",)
    assert inventory.services["y"].groups == ("media", "web")
    assert {g: [s.name for s in m] for g, m in inventory.groups.items()} == \
        {"media": ["x", "y"], "web": ["y"]}


def test_a_host_group_answers_for_the_services_on_its_hosts(tmp_path: Path) -> None:
    """Groups of hosts (labwarden.yaml's or the Ansible inventory's) are scopes too:
    "SSH hardened on every host of group hypervisors" answers for every service on them,
    below the service's own groups and its host in precedence."""
    (tmp_path / "labwarden.yaml").write_text(INVENTORY.replace(
        "pve1: {deployment_type: vm}", "pve1: {deployment_type: vm, groups: [hypervisors]}"))
    inventory = load_inventory(load_config(str(tmp_path / "labwarden.yaml")))
    book = book_of(tmp_path, inventory, BOOK.replace("groups:\n", "groups:\n  hypervisors:\n"
                   "    items:\n      \"1.1.4\": {by: ops, date: 2026-11-05, note: root off}\n"
                   "      \"3.4.4\": {by: ops, date: 2026-11-05, note: group rule}\n", 1))
    assert answer(book, inventory, "vault", "1.1.4") == ("group hypervisors", "ops")
    assert answer(book, inventory, "vault", "3.4.4") == ("host pve1", "hostie")   # host wins
    assert answer(book, inventory, "wiki", "1.1.4") is None                       # on pve2
    assert [s.name for s in services_in(parse_scope("group hypervisors"), inventory)] == \
        ["jellyfin", "sonarr", "vault"]
