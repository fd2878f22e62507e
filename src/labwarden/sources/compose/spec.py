"""The keys the Compose Specification defines, to report unknown and misspelled ones.

A misspelled key is a silent security bug: `read-only: true` or `network-mode: none` is
ignored by Compose (older versions) or rejects the file (newer ones), and either way the
hardening the author meant is not there. Taken from the compose-spec JSON schema.
"""

TOP_LEVEL = frozenset({
    "version", "name", "include", "services", "networks", "volumes", "secrets", "configs",
    "models",
})

SERVICE = frozenset({
    "annotations", "attach", "blkio_config", "build", "cap_add", "cap_drop", "cgroup",
    "cgroup_parent", "command", "configs", "container_name", "cpu_count", "cpu_percent",
    "cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpu_shares", "cpus",
    "cpuset", "credential_spec", "depends_on", "deploy", "develop", "device_cgroup_rules",
    "devices", "dns", "dns_opt", "dns_search", "domainname", "entrypoint", "env_file",
    "environment", "expose", "extends", "external_links", "extra_hosts", "gpus", "group_add",
    "healthcheck", "hostname", "image", "init", "ipc", "isolation", "label_file", "labels",
    "links", "logging", "mac_address", "mem_limit", "mem_reservation", "mem_swappiness",
    "memswap_limit", "models", "network_mode", "networks", "oom_kill_disable",
    "oom_score_adj", "pid", "pids_limit", "platform", "ports", "post_start", "pre_stop",
    "privileged", "profiles", "provider", "pull_policy", "pull_refresh_after", "read_only",
    "restart", "runtime", "scale", "secrets", "security_opt", "shm_size", "stdin_open",
    "stop_grace_period", "stop_signal", "storage_opt", "sysctls", "tmpfs", "tty", "ulimits",
    "use_api_socket", "user", "userns_mode", "uts", "volumes", "volumes_from", "working_dir",
})

# Keys of the legacy file formats (v1/v2) that Compose v2 no longer accepts; fine in a v1 file.
LEGACY_SERVICE = frozenset({
    "cpu_shares", "dockerfile", "log_driver", "log_opt", "net", "volume_driver", "mem_swappiness",
})

DEPLOY = frozenset({
    "endpoint_mode", "labels", "mode", "placement", "replicas", "resources", "restart_policy",
    "rollback_config", "update_config",
})
RESOURCES = frozenset({"limits", "reservations"})
LIMITS = frozenset({"cpus", "memory", "pids", "devices", "generic_resources"})
LOGGING = frozenset({"driver", "options"})
HEALTHCHECK = frozenset({"disable", "interval", "retries", "test", "timeout", "start_period",
                         "start_interval"})

NESTED = {
    ("deploy",): DEPLOY,
    ("deploy", "resources"): RESOURCES,
    ("deploy", "resources", "limits"): LIMITS,
    ("deploy", "resources", "reservations"): LIMITS,
    ("logging",): LOGGING,
    ("healthcheck",): HEALTHCHECK,
}


def suggest(key: str, known: frozenset) -> str | None:
    """The known key a misspelling most likely meant (`network-mode` → `network_mode`)."""
    normalised = key.replace("-", "_").lower()
    if normalised in known:
        return normalised
    import difflib  # only when a key is unknown, which is rare

    close = difflib.get_close_matches(normalised, sorted(known), n=1, cutoff=0.75)
    return close[0] if close else None
