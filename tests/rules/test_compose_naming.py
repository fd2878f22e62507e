"""What the naming rules' fixtures cannot show: policy patterns, suggestions, the tree rule."""

from __future__ import annotations

from pathlib import Path

from labwarden.model import Location
from labwarden.rules import compose_naming as naming
from labwarden.settings import Settings
from labwarden.sources.compose.discover import ProjectSpec
from labwarden.sources.compose.loader import load_project
from labwarden.sources.compose.model import ComposeTree, ContainerRef


def services(tmp_path: Path, text: str):
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    return load_project(ProjectSpec(str(tmp_path), [str(path)], "media"), []).services


def test_suggestion_uses_the_declared_project_name(tmp_path):
    found = services(tmp_path, "name: paperless\nservices:\n  redis: {image: a, "
                               "container_name: redis}\n")
    [hit] = naming.container_name_convention(found["redis"], Settings())
    assert hit.fix == "container_name: paperless-redis"


def test_policy_pattern(tmp_path):
    found = services(tmp_path, "services:\n  web: {image: a, container_name: web_1}\n")
    assert not list(naming.container_name_convention(
        found["web"], Settings(container_name_pattern=r"^[a-z0-9_]+$")))
    assert list(naming.container_name_convention(found["web"], Settings()))


def test_duplicates_report_every_occurrence_once():
    def ref(name, asset, line):
        return ContainerRef(name, True, Location(f"/lab/{asset}/compose.yaml", line),
                            f"compose:{asset}/svc")
    tree = ComposeTree([ref("grafana", "a", 3), ref("grafana", "b", 7), ref("loki", "a", 9),
                        ref("grafana", "a", 3)], root="/lab")
    hits = list(naming.duplicate_container_name(tree, Settings()))
    assert sorted(h.location.line for h in hits) == [3, 7]
    assert "b/compose.yaml:7" in next(h for h in hits if h.location.line == 3).message
    # each occurrence is its own asset (the service), so fingerprints stay distinct
    assert len({(h.asset, h.resource) for h in hits}) == 2
    assert {h.asset for h in hits} == {"compose:a/svc", "compose:b/svc"}
