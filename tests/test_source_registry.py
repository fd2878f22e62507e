"""The source table holds together: every rule can be found from its source's fact types in a
fresh process (the way an audit finds it, not the way a fixture calls it), every source's
facts are judged by some rule and have fixtures, and the tables derived from it agree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from labwarden.sources import registry as sources

FIXTURES = Path(__file__).parent / "rules" / "fixtures"

# In a fresh interpreter: for each source, the rules `rules_for` finds from its fact types;
# then every rule the registry holds once all modules are loaded.
_PROBE = """
import json
from labwarden.rules import registry
from labwarden.sources.registry import SOURCES
found = {}
for source in SOURCES:
    for fact in source.fact_types():
        found.setdefault(source.name, []).extend(r.id for r in registry.rules_for(fact))
every = {r.id: f"{r.fact.__module__}:{r.fact.__qualname__}" for r in registry.all_rules()}
print(json.dumps({"found": found, "every": every}))
"""


@pytest.fixture(scope="module")
def fresh() -> dict:
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                          check=True, timeout=120)
    return json.loads(done.stdout)


def test_every_rule_is_reachable_from_its_sources_fact_types(fresh) -> None:
    reachable = {rule_id for ids in fresh["found"].values() for rule_id in ids}
    unreachable = sorted(set(fresh["every"]) - reachable)
    assert not unreachable, ("rules whose fact type no source yields, or whose module no "
                             f"source lists: {[(r, fresh['every'][r]) for r in unreachable]}")


def test_every_rule_module_is_listed_by_a_source() -> None:
    # A module no source lists is never imported: its rules would silently never run.
    import labwarden.rules

    on_disk = {p.stem for p in Path(labwarden.rules.__file__).parent.glob("*.py")
               if not p.stem.startswith("_") and p.stem != "registry"}
    assert on_disk == set(sources.rule_modules())


def test_every_source_yields_facts_some_rule_judges(fresh) -> None:
    for source in sources.SOURCES:
        assert fresh["found"].get(source.name), f"no rule judges the facts of {source.name}"


def test_every_fact_type_is_judged_by_the_modules_its_source_lists(fresh) -> None:
    # A rule on a source's fact must live in one of that source's modules: otherwise it is
    # registered only when some other source happens to load its module first.
    from labwarden.rules import registry

    for rule in registry.all_rules():
        source = sources.source_of(rule.fact)
        module = rule.check.__module__.rpartition(".")[2]
        assert module in source.rules, f"{rule.id} lives in {module}, not in {source.rules}"


def test_every_source_has_rule_fixtures() -> None:
    from labwarden.rules import registry

    for source in sources.SOURCES:
        types = set(source.fact_types())
        ids = [r.id for r in registry.all_rules() if r.fact in types]
        for rule_id in ids:
            directory = FIXTURES / rule_id
            assert directory.is_dir(), f"{source.name}: {rule_id} has no fixtures"
            has_facts = (directory / "facts.yaml").exists()
            if source.fixtures == "facts":
                assert has_facts, f"{rule_id} ({source.name}) needs a facts.yaml"
                module = sys.modules[next(t for t in types if t is registry.get(rule_id).fact
                                          ).__module__]
                assert callable(getattr(module, "facts_from_yaml", None)), (
                    f"{module.__name__} has no facts_from_yaml for {rule_id}'s fixture")


def test_probes_follow_the_table() -> None:
    from labwarden.sources.live.collect import ProbeOptions, probes_for
    from labwarden.sources.live.targets import parse_target

    plain, keyed = ProbeOptions(), ProbeOptions(ssh_key="k", check_default_credentials=True)
    assert probes_for(parse_target("https://a.lab"), plain) == ("tls", "http")
    assert probes_for(parse_target("https://a.lab"), keyed) == ("tls", "http", "creds")
    assert probes_for(parse_target("ssh://a.lab"), plain) == ("ssh_wire",)
    assert probes_for(parse_target("ssh://a.lab"), keyed) == ("ssh_wire", "host", "docker",
                                                              "proxmox")
    assert probes_for(parse_target("docker+unix:///run/docker.sock"), plain) == ("docker",)
    assert probes_for(parse_target("tcp://a.lab"), plain) == ("ports",)
    assert probes_for(parse_target("snapshot:dir"), plain) == ("host", "docker", "proxmox")
    assert probes_for(parse_target("pve://pve1.lab"), plain) == ("proxmox",)


def test_derived_tables_come_from_the_sources() -> None:
    from labwarden.checklist.catalog import load_catalog

    kinds = {item.automated_by for item in load_catalog().items}
    assert kinds <= set(sources.EVIDENCE_KINDS)
    assert sources.RULE_ID.match("PVE001") and not sources.RULE_ID.match("XYZ001")
    assert sources.source_of(int) is None and sources.rule_modules(int) == ()


def test_the_table_imports_no_source() -> None:
    code = ("import sys, labwarden.sources.registry, labwarden.rules.registry; "
            "print(sorted(m for m in sys.modules if m.startswith('labwarden.sources.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60)
    assert done.stdout.strip() == "['labwarden.sources.registry']"
