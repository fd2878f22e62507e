"""Find the monitoring stack in Compose projects: which services run Prometheus,
Alertmanager, Loki or a log shipper (by image), and where their configuration file is on the
host (the bind mount of the path the program reads, from its command line or its default).

Runs in the audit's workers, on every project: plain tuples, nothing to import beyond this
module, so an audit of a tree without a monitoring stack pays nothing measurable.
"""

from __future__ import annotations

import os
import posixpath

from labwarden.knowledge.images import name_search

# image repository (registry and tag removed) -> role
IMAGES = {
    "prom/prometheus": "prometheus", "prometheus/prometheus": "prometheus",
    "bitnami/prometheus": "prometheus", "ubuntu/prometheus": "prometheus",
    "prom/alertmanager": "alertmanager", "prometheus/alertmanager": "alertmanager",
    "bitnami/alertmanager": "alertmanager", "ubuntu/prometheus-alertmanager": "alertmanager",
    "grafana/loki": "loki", "bitnami/grafana-loki": "loki",
    "grafana/promtail": "promtail", "bitnami/promtail": "promtail",
    "grafana/alloy": "alloy", "grafana/agent": "alloy",
    "timberio/vector": "vector",
    "fluent/fluent-bit": "fluent-bit", "bitnami/fluent-bit": "fluent-bit",
}
# Where each reads its configuration unless told: (flags that name it, default path).
CONFIG = {
    "prometheus": (("--config.file",), "/etc/prometheus/prometheus.yml"),
    "alertmanager": (("--config.file",), "/etc/alertmanager/alertmanager.yml"),
    "loki": (("-config.file", "--config.file"), "/etc/loki/local-config.yaml"),
    "promtail": (("-config.file", "--config.file"), "/etc/promtail/config.yml"),
    "alloy": ((), "/etc/alloy/config.alloy"),
    "vector": (("--config", "-c", "--config-yaml", "--config-toml"), "/etc/vector/vector.yaml"),
    "fluent-bit": (("-c", "--config"), "/fluent-bit/etc/fluent-bit.conf"),
}


# An image whose name holds none of theirs, as most do, is none of these.
_LAST_PARTS = name_search(IMAGES)


def role_of(image: str | None) -> str | None:
    if not image or _LAST_PARTS.search(image.lower()) is None:
        return None
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    parts = name.lower().split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    if len(parts) == 1:
        parts = ["library", parts[0]]
    return IMAGES.get("/".join(parts[-2:]))


def components(project) -> list[tuple]:
    """(role, project directory, service, image, config path inside the container,
    [(host path, container path)], location) for each monitoring service of `project`."""
    found = []
    directory = None                # made absolute only in a project that runs one (few do)
    for service in project.services.values():
        role = role_of(service.image)
        if role is None:
            continue
        if directory is None:
            directory = os.path.abspath(project.directory)
        binds = []
        for mount in service.mounts:
            source = mount.host_path
            if source is None or not mount.target:
                continue
            if source.startswith("~"):
                source = os.path.expanduser(source)
            binds.append((os.path.normpath(os.path.join(directory, source)),
                          posixpath.normpath(mount.target)))
        found.append((role, directory, service.name, service.image, _config_path(role, service),
                      binds, service.location))
    return found


def _config_path(role: str, service) -> str:
    import shlex

    flags, default = CONFIG[role]
    command = service.raw.get("command")
    if isinstance(command, str):
        try:
            words = shlex.split(command)
        except ValueError:
            words = command.split()
    elif isinstance(command, list):
        words = [str(w) for w in command]
    else:
        words = []
    for index, word in enumerate(words):
        name, eq, value = word.partition("=")
        if name in flags:
            if eq:
                return value
            if index + 1 < len(words):
                return words[index + 1]
    if role == "alloy" and "run" in words:          # alloy run [flags] PATH
        rest = [w for w in words[words.index("run") + 1:] if not w.startswith("-")]
        if rest:
            return rest[0]
    if role == "vector":
        env = service.environment.get("VECTOR_CONFIG")
        if env is not None and env.value:
            return env.value
    return default


def index(project) -> tuple:
    """(directory, project name, Compose's name, [(service, container name, labels, logging
    driver)]): what the join matches inventory services and shipper filters on."""
    services = []
    for service in project.services.values():
        name = service.raw.get("container_name")
        labels: dict[str, str] = {}
        raw = service.raw.get("labels")
        if isinstance(raw, dict):
            labels = {str(k): "" if v is None else str(v) for k, v in raw.items()}
        elif isinstance(raw, list):
            for item in raw:
                key, _, value = str(item).partition("=")
                labels[key] = value
        logging = service.raw.get("logging")
        driver = logging.get("driver") if isinstance(logging, dict) else None
        services.append((service.name, None if name is None else str(name), labels,
                         None if driver is None else str(driver)))
    return (os.path.abspath(project.directory), project.name,
            project.compose_name or project.name, services)
