"""Every checklist item the audit can answer has three fixtures: evidence that shows it
holds (PASS), evidence that shows it does not (FAIL), and no evidence of its kind (OPEN).

The cases live in tests/checklist/evidence/: Compose projects in compose.yaml (audited for
real, facts kept, as `labwarden checklist` does); facts in every other file (live.yaml for
the live probes and hosts, one file per further source family), in each source's facts.yaml
format, judged by the same rules without a network. An item may have cases in several
files (each family judged apart: `proxmox:3.4.2`, `live:3.4.3`, `proxy:3.3.5`); a file may
say its service's host is a Proxmox guest (`proxmox_guest: {vmid: N}`) or give the
service's `urls:` (`service: {urls: […]}`, facts matched by host name) or its Compose
file (`service: {compose: /lab/app/compose.yaml}`, facts matched by project directory). A
new prover without its cases fails `test_every_proven_item_has_cases`.
"""

from __future__ import annotations

import copy
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from labwarden.audit import AuditOptions, run
from labwarden.audit.runner import RuleRunner, conclude
from labwarden.checklist.attest import ServiceRecord
from labwarden.checklist.catalog import load_catalog
from labwarden.checklist.evaluate import evaluate
from labwarden.config import Config
from labwarden.inventory import Host, InventoryService, ProxmoxGuest
from labwarden.model import AuditResult, Location
from labwarden.rules.registry import all_rules

HERE = Path(__file__).parent / "evidence"
COMPOSE = yaml.safe_load((HERE / "compose.yaml").read_text())
LOADERS: dict[str, str] = {}      # source -> the module whose facts_from_yaml reads it
BASE: dict[str, dict] = {}        # source -> a complete, clean fact
# "family:item" -> its cases: an item may have cases in several families (a firewall item
# answered by a host's iptables and by a Proxmox guest's firewall), each judged apart.
LIVE: dict[str, dict] = {}
KIND: dict[str, str] = {}         # "family:item" -> the deployment type of the service judged
GUEST: dict[str, dict] = {}       # "family:item" -> the service's host as a Proxmox guest
SERVICE: dict[str, dict] = {}     # "family:item" -> the service's `urls:` and the like
for _path in sorted(HERE.glob("*.yaml")):
    if _path.name != "compose.yaml":
        _cases = yaml.safe_load(_path.read_text())
        _loaders, _base = _cases.pop("loaders"), _cases.pop("base")
        _twice = (set(LOADERS) & set(_loaders)) | (set(BASE) & set(_base))
        assert not _twice, f"{_path.name}: source names another file uses too: {_twice}"
        LOADERS.update(_loaders)
        BASE.update(_base)
        _kind = _cases.pop("deployment_type", "vm")
        _guest = _cases.pop("proxmox_guest", None)     # e.g. {vmid: 101}: the host's guest
        _service = _cases.pop("service", {})
        for _item, _case in _cases.items():
            LIVE[f"{_path.stem}:{_item}"] = _case
            KIND[f"{_path.stem}:{_item}"] = _kind
            SERVICE[f"{_path.stem}:{_item}"] = _service
            if _guest:
                GUEST[f"{_path.stem}:{_item}"] = _guest

# A service with nothing wrong: each case changes one thing.
BASELINE = {"image": "nginx:1.27.3", "user": "1000:1000", "read_only": True,
            "cap_drop": ["ALL"], "security_opt": ["no-new-privileges:true"],
            "mem_limit": "256m", "cpus": "0.5", "pids_limit": 100, "restart": "unless-stopped",
            "logging": {"driver": "json-file", "options": {"max-size": "10m",
                                                              "max-file": "3"}},
            "healthcheck": {"test": ["CMD", "true"]}}

TARGET = "snapshot:app"     # every fact is taken as collected from the service's own host


def test_every_proven_item_has_cases() -> None:
    proven = {item for rule in all_rules() for item in rule.proves}
    cased = set(COMPOSE) | {key.split(":", 1)[1] for key in LIVE}
    assert proven - cased == set(), "provers without PASS/FAIL/OPEN fixtures"
    assert cased - proven == set(), "fixtures for items nothing proves"


# -- Compose -----------------------------------------------------------------------------

def _merge(base: dict, change: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in change.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _compose_lab(root: Path, case: dict, side: str) -> InventoryService:
    project = root / "app"
    project.mkdir(parents=True)
    service = _merge(BASELINE, case[side]["app"])
    document = {"services": {"app": service}}
    if service.get("secrets"):
        document["secrets"] = {name: {"file": f"./{name}.txt"} for name in service["secrets"]}
    (project / "compose.yaml").write_text(yaml.safe_dump(document))
    for name, spec in {**case.get("files", {}), **case.get(f"{side}_files", {})}.items():
        path = project / name
        path.write_text(spec["text"])
        os.chmod(path, spec.get("mode", 0o644))
    if case.get("git"):
        git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t"]
        subprocess.run([*git, "init", "-q"], check=True)
        tracked = [f"app/{name}" for name in case[f"{side}_tracked"]]
        subprocess.run([*git, "add", "-f", *tracked], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "lab"], check=True)
    return InventoryService("app", Location("labwarden.yaml", 1), compose=str(project))


def _compose_status(root: Path, item: str, service: InventoryService):
    config = Config()
    result = run([str(root)], AuditOptions(config=config, keep_facts=True))
    evaluation = evaluate(service, result, ServiceRecord(), load_catalog(),
                          settings=config.settings)
    return evaluation.by_id()[item]


@pytest.mark.parametrize("item", sorted(COMPOSE))
@pytest.mark.parametrize("side, expected", [("good", "PASS"), ("bad", "FAIL")])
def test_compose_evidence(tmp_path: Path, item: str, side: str, expected: str) -> None:
    service = _compose_lab(tmp_path, COMPOSE[item], side)
    answer = _compose_status(tmp_path, item, service)
    assert answer.status.value == expected, answer.note


@pytest.mark.parametrize("item", sorted(COMPOSE))
def test_compose_items_stay_open_without_a_project(tmp_path: Path, item: str) -> None:
    """The same lab, but the service names no Compose project: nothing of it examined."""
    service = _compose_lab(tmp_path, COMPOSE[item], "good")
    service.compose = None
    answer = _compose_status(tmp_path, item, service)
    assert answer.status.value == "OPEN"
    assert answer.note.startswith("not examined") and "compose" in answer.note


# -- live facts --------------------------------------------------------------------------

def _facts(source: str, change: dict, tmp_path: Path) -> list:
    from importlib import import_module

    path = tmp_path / f"{source}.yaml"
    path.write_text(yaml.safe_dump([_merge(BASE[source], change)]))
    return import_module(LOADERS[source]).facts_from_yaml(str(path))


def _live_status(tmp_path: Path, case: str, sides: dict):
    config = Config()
    runner = RuleRunner(config)
    result = AuditResult(findings=[], diagnostics=[], targets=[TARGET])
    for source, change in sides.items():
        for fact in _facts(source, change or {}, tmp_path):
            runner.run(fact, fact.asset, result.findings, result.diagnostics)
            result.facts.append((TARGET, fact.asset, fact))
    conclude(result.findings, result.diagnostics, config, None)
    host = Host("app-host", TARGET, "vm")
    if case in GUEST:              # the host is a Proxmox guest; its node is the same target
        host.proxmox = ProxmoxGuest("pve1", int(GUEST[case]["vmid"]), TARGET)
    service = InventoryService("app", Location("labwarden.yaml", 1),
                               deployment_type=KIND[case], host=host,
                               urls=tuple(SERVICE[case].get("urls", ())),
                               # facts that name their service by its Compose project
                               compose=SERVICE[case].get("compose"))
    evaluation = evaluate(service, result, ServiceRecord(), load_catalog(),
                          settings=config.settings)
    return evaluation.by_id()[case.split(":", 1)[1]]


@pytest.mark.parametrize("case", sorted(LIVE))
@pytest.mark.parametrize("side, expected", [("good", "PASS"), ("bad", "FAIL")])
def test_live_evidence(tmp_path: Path, case: str, side: str, expected: str) -> None:
    answer = _live_status(tmp_path, case, LIVE[case][side])
    assert answer.status.value == expected, answer.note


@pytest.mark.parametrize("case", sorted(LIVE))
def test_live_items_stay_open_without_their_facts(tmp_path: Path, case: str) -> None:
    """No fact of the kinds the item needs (or, for an item that needs two kinds, only one
    of them): OPEN, naming what would answer it."""
    answer = _live_status(tmp_path, case, LIVE[case].get("partial", {}))
    assert answer.status.value == "OPEN", answer.note
    assert answer.note.startswith("not examined: needs"), answer.note
