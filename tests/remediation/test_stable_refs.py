"""A roadmap printed before a fix still names the same findings after it: the display
numbers (CRITICAL-002) shift when a finding above them goes, the references (rule and
fingerprint) do not."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from labwarden.audit import AuditOptions, run
from labwarden.commands.remediation import build_roadmap
from labwarden.config import ConfigError, load_config
from labwarden.remediation.roadmap import render_markdown, to_json

EXAMPLE = Path(__file__).parents[2] / "examples" / "homelab"


def planned(root: Path):
    config = load_config(str(root / "labwarden.yaml"))
    result = run([str(root)], AuditOptions(config=config, keep_facts=True))
    roadmap = build_roadmap([str(root)], config, result)
    refs = {f["ref"]: f["id"] for p in to_json(roadmap)["phases"] for s in p["steps"]
            for f in s["findings"]}
    return roadmap, refs


def test_references_survive_an_unrelated_fix(tmp_path) -> None:
    root = tmp_path / "homelab"
    shutil.copytree(EXAMPLE, root)
    before_roadmap, before = planned(root)
    printed = render_markdown(before_roadmap)
    fixed = next(ref for ref, shown in before.items() if shown == "CRITICAL-001")
    assert fixed.startswith("CMP010:")        # Home Assistant's `privileged: true`
    compose = root / "homeassistant" / "compose.yaml"
    text = compose.read_text()
    assert "privileged: true" in text
    compose.write_text(text.replace("privileged: true", "privileged: false"))

    _, after = planned(root)
    assert fixed not in after
    # every other finding of the printed roadmap is still there, under the same reference
    assert set(before) - {fixed} <= set(after)
    for ref in set(before) - {fixed}:
        assert ref in printed
    # while the display numbers moved: cadvisor's privileged mode was CRITICAL-002
    moved = [ref for ref in set(before) & set(after) if before[ref] != after[ref]]
    assert moved
    cadvisor = next(ref for ref, shown in before.items() if shown == "CRITICAL-002")
    assert after[cadvisor] == "CRITICAL-001"


def test_a_waiver_names_one_finding_by_its_reference(tmp_path) -> None:
    """The reference a roadmap shows is what a waiver can name (`scope: {finding: …}`):
    one of two findings of the same rule, whatever number it has today."""
    root = tmp_path / "homelab"
    shutil.copytree(EXAMPLE, root)
    _, refs = planned(root)
    cadvisor = next(ref for ref, shown in refs.items() if shown == "CRITICAL-002")
    config = root / "labwarden.yaml"
    config.write_text(config.read_text().replace("waivers:\n", (
        "waivers:\n  - rule: privileged-container\n"
        f"    scope: {{finding: \"{cadvisor}\"}}\n"
        "    justification: cAdvisor reads every container's cgroups\n"
        "    owner: jdoe\n    expires: 2099-01-01\n"), 1))
    result = run([str(root)], AuditOptions(config=load_config(str(config))))
    privileged = {f.asset: f.waived for f in result.findings if f.rule.id == "CMP010"}
    assert privileged == {"compose:monitoring/cadvisor": True,
                          "compose:homeassistant/homeassistant": False}


def test_a_malformed_reference_is_refused(tmp_path) -> None:
    config = tmp_path / "labwarden.yaml"
    config.write_text("version: 1\nwaivers:\n  - rule: CMP010\n"
                      "    scope: {finding: \"CMP010:xyz\"}\n"
                      "    justification: j\n    owner: o\n    expires: 2099-01-01\n")
    with pytest.raises(ConfigError, match="RULE:fingerprint") as raised:
        load_config(str(config))
    assert raised.value.location.line == 4
    config.write_text(config.read_text().replace("CMP010:xyz", "CMP050:4d4eacd0112e"))
    with pytest.raises(ConfigError, match="names rule CMP050, the waiver CMP010"):
        load_config(str(config))
