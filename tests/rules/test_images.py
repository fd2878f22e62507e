"""What the image rules' fixtures cannot show: default settings and contextual severities."""

from __future__ import annotations

from pathlib import Path

from labwarden.model import Severity
from labwarden.rules.images import image_not_digest_pinned, image_untrusted_registry
from labwarden.settings import Settings
from labwarden.sources.compose.discover import ProjectSpec
from labwarden.sources.compose.loader import load_project


def services(tmp_path: Path, text: str):
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    project = load_project(ProjectSpec(str(tmp_path), [str(path)], "p"), [])
    return project.services


def test_digest_pinning_is_off_by_default(tmp_path):
    svc = services(tmp_path, "services:\n  db:\n    image: postgres:16.4\n")["db"]
    assert list(image_not_digest_pinned(svc, Settings())) == []
    hits = list(image_not_digest_pinned(svc, Settings(require_digest=True)))
    assert len(hits) == 1 and "mutable" in hits[0].message


def test_default_registries_and_severities(tmp_path):
    found = services(tmp_path, """
services:
  hub: {image: "nginx:1.27"}
  ghcr: {image: "ghcr.io/immich-app/immich-server:v1.118.2"}
  lsio: {image: "lscr.io/linuxserver/sonarr:4.0.9"}
  public: {image: "registry.rocket.chat/rocketchat/rocket.chat:6.12.1"}
  lan: {image: "registry.lan:5000/app:1.0"}
""")
    hits = {name: list(image_untrusted_registry(svc, Settings())) for name, svc in found.items()}
    assert not hits["hub"] and not hits["ghcr"] and not hits["lsio"]
    assert [h.severity for h in hits["public"]] == [None]          # the rule's MEDIUM
    assert [h.severity for h in hits["lan"]] == [Severity.LOW]     # a registry you run
    assert "registry.lan" in hits["lan"][0].fix


def test_an_empty_allow_list_trusts_nothing(tmp_path):
    svc = services(tmp_path, "services:\n  web:\n    image: nginx:1.27\n")["web"]
    assert len(list(image_untrusted_registry(svc, Settings(trusted_registries=())))) == 1
