"""Policy settings that rules read: allow-lists, conventions, thresholds.

Rules receive a `Settings` as their second argument and never read configuration files
themselves; `config.py` builds a `Settings` from `labwarden.yaml`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labwarden.sources.backup.config import BackupConfig
    from labwarden.sources.scans.policy import ScanPolicy

DEFAULT_TRUSTED_REGISTRIES = (
    "docker.io", "ghcr.io", "lscr.io", "quay.io", "mcr.microsoft.com", "registry.k8s.io",
    "gcr.io", "public.ecr.aws", "docker.elastic.co", "registry.gitlab.com", "codeberg.org",
)
# <service>-<component>, e.g. paperless-webserver, monitoring-grafana (seed 4.5).
DEFAULT_CONTAINER_NAME = r"^[a-z0-9]+(?:-[a-z0-9]+)+$"
DEFAULT_PROXY_IMAGES = (
    "jc21/nginx-proxy-manager", "traefik", "caddy", "nginx", "haproxy", "nginxproxy/nginx-proxy",
    "lucaslorentz/caddy-docker-proxy", "linuxserver/swag", "lscr.io/linuxserver/swag",
    "envoyproxy/envoy", "zoraxy",
)


@dataclass
class Settings:
    trusted_registries: tuple[str, ...] = DEFAULT_TRUSTED_REGISTRIES
    container_name_pattern: str = DEFAULT_CONTAINER_NAME
    internet_facing_ports: tuple[int, ...] = (80, 443)
    expected_open_ports: tuple[int, ...] = (22,)   # open on hosts, internal only (seed 3.1)
    tls_expiry_warning_days: int = 30              # a certificate closer to expiry is HIGH
    proxy_images: tuple[str, ...] = DEFAULT_PROXY_IMAGES
    proxy_services: tuple[str, ...] = ()       # service names that are the reverse proxy
    require_digest: bool = False               # IMG rules: digest pinning as a finding
    # BAK rules: the backup policy and the inventory's plans (None: no labwarden.yaml
    # services or `backup:`; the rules use sources.backup.config.DEFAULT).
    backup: BackupConfig | None = None
    # IMG010+: the scan policy, `scans:` (None: sources.scans.policy.DEFAULT).
    scans: ScanPolicy | None = None
    _name_regex: re.Pattern | None = field(default=None, repr=False, compare=False)

    @property
    def container_name_regex(self) -> re.Pattern:
        if self._name_regex is None:
            self._name_regex = re.compile(self.container_name_pattern)
        return self._name_regex


DEFAULT = Settings()
