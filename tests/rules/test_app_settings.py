"""SEC009 and its table (knowledge/apps.py): contextual severity and what stays quiet."""

from __future__ import annotations

from pathlib import Path

from labwarden.knowledge.apps import OPEN_SETTINGS
from labwarden.model import Severity
from labwarden.rules.secrets import app_open_to_strangers
from labwarden.settings import Settings
from labwarden.sources.compose.discover import ProjectSpec
from labwarden.sources.compose.loader import load_project


def _hits(tmp_path: Path, text: str):
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    project = load_project(ProjectSpec(str(tmp_path), [str(path)], "p"), [])
    return {name: list(app_open_to_strangers(svc, Settings()))
            for name, svc in project.services.items()}


def test_grafana_anonymous_access_is_worse_when_strangers_can_edit(tmp_path):
    found = _hits(tmp_path, """
services:
  viewer: {image: grafana/grafana:11.3.0, environment: {GF_AUTH_ANONYMOUS_ENABLED: "true"}}
  editor:
    image: grafana/grafana:11.3.0
    environment: {GF_AUTH_ANONYMOUS_ENABLED: "true", GF_AUTH_ANONYMOUS_ORG_ROLE: Editor}
  off: {image: grafana/grafana:11.3.0, environment: {GF_AUTH_ANONYMOUS_ENABLED: "false"}}
  shell: {image: grafana/grafana:11.3.0, environment: [GF_AUTH_ANONYMOUS_ENABLED]}
""")
    assert [h.severity for h in found["viewer"]] == [Severity.MEDIUM]
    assert [h.severity for h in found["editor"]] == [Severity.HIGH]
    assert found["off"] == [] and found["shell"] == []   # from the shell: not this file's


def test_one_closing_spelling_closes_an_app_open_when_unset(tmp_path):
    found = _hits(tmp_path, """
services:
  both: {image: codercom/code-server:4.95.3, environment: {PASSWORD: "", HASHED_PASSWORD: x}}
  empty: {image: codercom/code-server:4.95.3, environment: {PASSWORD: ""}}
  file: {image: lscr.io/linuxserver/code-server:4.95.3, environment: {FILE__PASSWORD: /run/s}}
""")
    assert found["both"] == [] and found["file"] == []
    assert len(found["empty"]) == 1 and "`PASSWORD` is empty" in found["empty"][0].message


def test_every_table_entry_names_images_and_a_fix():
    for setting in OPEN_SETTINGS:
        assert setting.images and setting.fix and setting.what
        assert setting.variables or setting.open_when_unset


def test_the_index_finds_what_image_matching_finds():
    from labwarden.knowledge import images
    from labwarden.knowledge.apps import settings_for

    probes = {f"{i}:1.0" for s in OPEN_SETTINGS for i in s.images} | {
        "lscr.io/linuxserver/code-server:4.95.3", "registry.lan/mealie:1", "nginx:1.27",
        "docker.io/grafana/grafana:11.3.0", "ghcr.io/example/vaultwarden-server:1"}
    for image in probes:
        expected = tuple(s for s in OPEN_SETTINGS if images.matches(image, s.images))
        assert settings_for(image) == expected, image
