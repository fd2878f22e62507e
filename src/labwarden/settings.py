"""Policy settings that rules read: allow-lists, conventions, thresholds.

Rules receive a `Settings` as their second argument and never read configuration files
themselves; `config.py` builds a `Settings` from `labwarden.yaml`.
"""

from __future__ import annotations

import re

from labwarden._record import Record

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing at start-up
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


class Settings(Record):
    __slots__ = ("trusted_registries", "container_name_pattern", "internet_facing_ports",
                 "expected_open_ports", "tls_expiry_warning_days", "proxy_images",
                 "proxy_services", "require_digest", "backup", "scans", "compose_hosts",
                 "_name_regex")
    _fields = __slots__[:-1]             # `_name_regex` caches the property: no field
    trusted_registries: tuple[str, ...]
    container_name_pattern: str
    internet_facing_ports: tuple[int, ...]
    expected_open_ports: tuple[int, ...]   # open on hosts, internal only (seed 3.1)
    tls_expiry_warning_days: int           # a certificate closer to expiry is HIGH
    proxy_images: tuple[str, ...]
    proxy_services: tuple[str, ...]        # service names that are the reverse proxy
    require_digest: bool                   # IMG rules: digest pinning as a finding
    # BAK rules: the backup policy and the inventory's plans (None: no labwarden.yaml
    # services or `backup:`; the rules use sources.backup.config.DEFAULT).
    backup: BackupConfig | None
    # IMG010+: the scan policy, `scans:` (None: sources.scans.policy.DEFAULT).
    scans: ScanPolicy | None
    # The inventory's host of each Compose project it names: {project directory: host}
    # (labwarden.yaml `services:` with `compose:` and `host:`). Rules comparing projects
    # (NET008) tell stacks on different machines apart with it.
    compose_hosts: dict[str, str]
    _name_regex: re.Pattern | None

    def __init__(self, trusted_registries: tuple[str, ...] = DEFAULT_TRUSTED_REGISTRIES,
                 container_name_pattern: str = DEFAULT_CONTAINER_NAME,
                 internet_facing_ports: tuple[int, ...] = (80, 443),
                 expected_open_ports: tuple[int, ...] = (22,),
                 tls_expiry_warning_days: int = 30,
                 proxy_images: tuple[str, ...] = DEFAULT_PROXY_IMAGES,
                 proxy_services: tuple[str, ...] = (), require_digest: bool = False,
                 backup: BackupConfig | None = None, scans: ScanPolicy | None = None,
                 compose_hosts: dict[str, str] | None = None):
        self.trusted_registries = trusted_registries
        self.container_name_pattern = container_name_pattern
        self.internet_facing_ports = internet_facing_ports
        self.expected_open_ports = expected_open_ports
        self.tls_expiry_warning_days = tls_expiry_warning_days
        self.proxy_images = proxy_images
        self.proxy_services = proxy_services
        self.require_digest = require_digest
        self.backup = backup
        self.scans = scans
        self.compose_hosts = {} if compose_hosts is None else compose_hosts
        self._name_regex = None

    @property
    def container_name_regex(self) -> re.Pattern:
        if self._name_regex is None:
            self._name_regex = re.compile(self.container_name_pattern)
        return self._name_regex


DEFAULT = Settings()
