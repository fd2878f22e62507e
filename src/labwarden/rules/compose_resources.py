"""Rules about what a service may consume and how it is kept running and observable:
resource limits, restart policy, logging and log rotation.

Limits can be written the Compose way (`mem_limit`, `cpus`, `pids_limit`) or the Swarm way
(`deploy.resources.limits`), which `docker compose` also applies; either counts.
"""

from __future__ import annotations

from functools import lru_cache

from labwarden.model import Hit, Impact, Severity
from labwarden.rules._memo import for_last
from labwarden.rules.registry import prover, rule
from labwarden.sources.compose.model import Service
from labwarden.sources.yamlfile import Map

CIS_MEMORY = "CIS Docker Benchmark 5.10 (memory usage limited)"
CIS_CPU = "CIS Docker Benchmark 5.11 (CPU priority set)"
CIS_PIDS = "CIS Docker Benchmark 5.28 (PIDs cgroup limit used)"
CIS_RESTART = "CIS Docker Benchmark 5.14 (restart policy: on-failure with a retry limit)"
OWASP_LIMITS = "OWASP Docker Security Cheat Sheet, rule 7 (limit resources)"


def _set(value) -> bool:
    """A limit that limits: 0, -1 and an empty value (an unset variable) mean unlimited."""
    if value is None or isinstance(value, bool):
        return False
    text = str(value).strip().lower()
    return text not in ("", "0", "-1", "0.0", "0b", "0m", "0g", "unlimited", "max")


def _incomplete(service: Service) -> bool:
    """A service with neither `image` nor `build` is a fragment that something else completes
    (an app store's platform file, an `extends` base): Compose cannot run it as written, so
    what it lacks is not this file's to answer."""
    return service.raw.get("image") is None and service.raw.get("build") is None


def _limits(service: Service) -> Map:
    limits = service.path("deploy", "resources", "limits")
    return limits if isinstance(limits, Map) else Map()


# Each limit: what it is called in the message, where it may be set, and the YAML to add.
_RESOURCE_KEYS = (
    ("memory", ("mem_limit",), "memory", "mem_limit: 512m"),
    ("CPU", ("cpus", "cpu_quota", "cpu_count", "cpu_percent", "cpuset"), "cpus",
     "cpus: \"1.0\""),
    ("PIDs", ("pids_limit",), "pids", "pids_limit: 200"),
)
# Every key of the service a limit may be written under (`deploy` holds the Swarm way's).
_LIMIT_KEYS = frozenset({"deploy", *(key for _, keys, _, _ in _RESOURCE_KEYS for key in keys)})
# The checklist item each missing limit fails (the seed has none for PIDs).
_LIMIT_ITEMS = {"memory": "4.4.1", "CPU": "4.4.2"}


@rule("CMP070", "resource-limits-missing", Severity.LOW, title="Resource limits missing",
      on=Service, checklist=["4.4.1", "4.4.2"],
      refs=[CIS_MEMORY, CIS_CPU, CIS_PIDS, OWASP_LIMITS, "CWE-400", "CWE-770"],
      impact=Impact("service", (1, 2)))
def resource_limits_missing(service: Service, settings):
    """Reports a service without a memory, CPU or PIDs limit, once, listing what is missing.
    A limit counts wherever Compose reads it: `mem_limit`, `cpus` (or `cpu_quota`, `cpuset`),
    `pids_limit`, or `deploy.resources.limits`. A limit of 0 or -1 is no limit.

    Why it matters:
    Without limits one container can take the whole machine: a memory leak makes the kernel's
    OOM killer pick victims among the other services (often the database), a busy loop
    starves the reverse proxy, and a fork bomb exhausts the host's process table. On a
    homelab host running twenty stacks that is an outage of everything.

    Example:
    ```yaml
    services:
      paperless:
        image: ghcr.io/paperless-ngx/paperless-ngx:2.12
    ```

    Fix:
    Set limits a little above what the service uses (see `docker stats`):
    ```yaml
    services:
      paperless:
        image: ghcr.io/paperless-ngx/paperless-ngx:2.12
        mem_limit: 2g
        cpus: "2.0"
        pids_limit: 200
    ```
    """
    if _incomplete(service):
        return
    raw = service.raw
    missing: tuple[tuple[str, tuple[str, ...], str, str], ...]
    if _LIMIT_KEYS.isdisjoint(raw):
        missing = _RESOURCE_KEYS    # no limit written at all: most services
    else:
        limits = _limits(service)
        missing = tuple(entry for entry in _RESOURCE_KEYS
                        if not (any(_set(raw.get(k)) for k in entry[1])
                                or _set(limits.get(entry[2]))))
    if not missing:
        return
    message, evidence, items, fix = _limit_texts(missing)
    yield Hit(message, service.location, resource="resource-limits", evidence=evidence,
              checklist=items, fix=fix)


@lru_cache(maxsize=16)      # at most 7 combinations, one of them for most services
def _limit_texts(missing: tuple[tuple, ...]) -> tuple[str, str, tuple[str, ...], str]:
    """CMP070's message, evidence, checklist items and fix for the _RESOURCE_KEYS entries a
    service lacks."""
    labels = [label for label, *_ in missing]
    indent = "\n    "
    return (f"no {_join(labels)} limit: one runaway container can starve every service on "
            "the host",
            "missing: " + ", ".join(labels),
            tuple(_LIMIT_ITEMS[m] for m in labels if m in _LIMIT_ITEMS),
            f"add to the service (sized from `docker stats`):{indent}"
            + indent.join(yaml for *_, yaml in missing))


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


# --- restart policy ------------------------------------------------------------------------

def _one_shot(service: Service) -> bool:
    """A job other services wait to *complete* (a migration, an init container) must not be
    restarted: `restart: no` is right for it."""
    return service.name in _awaited(service.project)


# Asked for each service of the project in turn: the project's waits are read once
# (reading every service for each made the rule quadratic: 285 s at 20,000 services).
@for_last
def _awaited(project) -> frozenset[str]:
    """The services some other service waits to complete."""
    names = set()
    for other in project.services.values():
        depends = other.raw.get("depends_on")
        if isinstance(depends, Map):
            for name, condition in depends.items():
                if isinstance(condition, Map) and \
                        condition.get("condition") == "service_completed_successfully":
                    names.add(name)
    return frozenset(names)


@rule("CMP071", "restart-policy-missing", Severity.LOW, title="No restart policy",
      on=Service, checklist=["4.4.3"], refs=[CIS_RESTART],
      impact=Impact("service", (1, 2)))
def restart_policy_missing(service: Service, settings):
    """Reports a service with no restart policy: no `restart` (or `restart: "no"`) and no
    `deploy.restart_policy` (or one with `condition: none`). One-shot jobs that another
    service waits to complete (`condition: service_completed_successfully`) are not reported.

    Why it matters:
    Without a policy a container that crashes, or that was running when the host rebooted,
    stays down until someone notices. For a reverse proxy, an authentication server or a
    monitoring agent that silently turns a crash into an outage or a blind spot.

    Example:
    ```yaml
    services:
      vaultwarden:
        image: vaultwarden/server:1.32.0
    ```

    Fix:
    ```yaml
    services:
      vaultwarden:
        image: vaultwarden/server:1.32.0
        restart: unless-stopped
    ```
    """
    if _incomplete(service):
        return
    restart = service.raw.get("restart")
    text = "" if restart is None else str(restart).strip().lower()
    if restart is False:
        text = "no"
    if text and text != "no":
        return
    policy = service.path("deploy", "restart_policy")
    policy = policy if isinstance(policy, Map) else None
    if policy is not None and str(policy.get("condition") or "any").lower() != "none":
        return
    if _one_shot(service):
        return
    written = (service.raw.written or {}).get("restart")
    if restart is None and policy is None:
        message, loc = "no restart policy: after a crash or a host reboot the container " \
                       "stays down", service.location
    elif policy is not None and restart is None:
        message, loc = "`deploy.restart_policy.condition: none`: after a crash or a reboot " \
                       "the container stays down", service.loc("deploy", "restart_policy")
    elif written and not text:
        message, loc = f"`restart: {written}` is empty here (the variable is unset), which " \
                       "means no restart", service.loc("restart")
    else:
        message, loc = f"`restart: \"{restart if restart is not False else 'no'}\"`: after " \
                       "a crash or a host reboot the container stays down", service.loc("restart")
    if restart is not None:
        evidence = f"restart: {written or restart}"
    else:
        evidence = "deploy.restart_policy.condition: none" if policy is not None \
            else "no `restart` key"
    yield Hit(message, loc, resource="restart", evidence=evidence,
              fix="restart: unless-stopped")


# --- logging -------------------------------------------------------------------------------

@for_last       # CMP072 and CMP073 ask in turn about the same service: read once
def _logging(service: Service):
    """(driver, options, where the driver is set); driver "" when Docker's default applies.
    Reads `logging:` and the legacy `log_driver`/`log_opt` keys."""
    logging = service.raw.get("logging")
    keys: tuple[tuple[str, ...], tuple[str, ...]]
    if isinstance(logging, Map):
        keys = ("logging", "driver"), ("logging",)
        driver, options = logging.get("driver"), logging.get("options")
    else:
        keys = ("log_driver",), ()
        driver, options = service.raw.get("log_driver"), service.raw.get("log_opt")
    loc = service.loc(*keys[0]) if driver is not None else service.loc(*keys[1])
    return ("" if driver is None else str(driver).strip().lower(),
            options if isinstance(options, Map) else Map(), loc)


@rule("CMP072", "logging-disabled", Severity.MEDIUM, title="Container logging disabled",
      on=Service, checklist=["6.1.1"], refs=["CIS Docker Benchmark 2.13 (centralized and "
                                              "remote logging)", "CWE-778"],
      impact=Impact("service", (1, 2)))
def logging_disabled(service: Service, settings):
    """Reports `logging: {driver: none}` (or the legacy `log_driver: none`).

    Why it matters:
    With the `none` driver Docker keeps nothing: `docker logs` is empty, Loki or any other
    collector receives nothing, and after an incident there is no trace of what the
    container did or who reached it.

    Example:
    ```yaml
    services:
      app:
        image: nginx:1.27
        logging:
          driver: none
    ```

    Fix:
    Log, with rotation so the disk cannot fill:
    ```yaml
        logging:
          driver: local        # rotates by default; or json-file with max-size/max-file
    ```
    """
    driver, _, loc = _logging(service)
    if driver == "none":
        yield Hit("logging is disabled (`driver: none`): the container leaves no trace for "
                  "`docker logs`, collectors or an incident review", loc, resource="logging",
                  evidence="driver: none",
                  fix="use `driver: local` (rotating), or json-file with max-size and max-file")


@rule("CMP073", "log-rotation-missing", Severity.LOW, title="Container logs not rotated",
      on=Service, checklist=["4.4.4", "6.1.6"],
      refs=["Docker documentation: JSON File logging driver", "CWE-400"],
      impact=Impact("service", (1, 2)))
def log_rotation_missing(service: Service, settings):
    """Reports a service whose logs go to the `json-file` driver (named, or Docker's
    default when there is no `logging:` at all) without both `max-size` and `max-file`.
    The `local` driver rotates by default; journald, syslog, fluentd, gelf, loki and other
    drivers ship logs elsewhere: no finding for those.

    Why it matters:
    json-file keeps every line forever unless told otherwise: one chatty or crash-looping
    container fills `/var/lib/docker`, and with the disk full every other container (and
    often the host) stops writing. Without `max-file` the default is one file, truncated
    at each rotation, so the history is lost at the worst moment. (A default set in
    `/etc/docker/daemon.json` covers services without a `logging:` key; waive this rule if
    your hosts set one.)

    Example:
    ```yaml
    services:
      app:
        image: nginx:1.27
        logging:
          driver: json-file
    ```

    Fix:
    ```yaml
        logging:
          driver: json-file
          options:
            max-size: "10m"
            max-file: "3"
    ```
    Or use `driver: local`, which rotates by default, or set `log-opts` once for all
    containers in `/etc/docker/daemon.json`.
    """
    driver, options, loc = _logging(service)
    if driver not in ("", "json-file") or (_incomplete(service) and not driver):
        return
    if options:                     # the options are what to change: point there
        loc = service.loc("logging", "options") if "logging" in service.raw else \
            service.loc("log_opt")
    missing = [k for k in ("max-size", "max-file") if not _set(options.get(k))]
    if not missing:
        return
    has_logging = isinstance(service.raw.get("logging"), Map) or "log_driver" in service.raw
    if not has_logging:
        message = "no `logging:`: the default json-file driver keeps this container's logs " \
                  "without a size limit, unless the Docker daemon's own defaults set one"
    elif "max-size" in missing:
        message = "json-file logging without `max-size`: the log grows until the disk is full"
    else:
        message = "json-file logging without `max-file`: one file, truncated at each " \
                  "rotation, so the history is lost"
    yield Hit(message, loc, resource="logging",
              evidence=f"driver: {driver or 'json-file (default)'}; missing: "
                       + ", ".join(missing),
              fix="logging:\n  driver: json-file\n  options:\n    max-size: \"10m\"\n"
                  "    max-file: \"3\"" + ("" if has_logging else "\n# or once for every "
                                         "container: log-opts in the daemon's daemon.json"))


# --- CMP074 ---------------------------------------------------------------------------------

def _healthcheck_disabled(service: Service) -> str | None:
    """How the healthcheck is switched off, or None."""
    check = service.raw.get("healthcheck")
    if not isinstance(check, Map):
        return None
    if check.get("disable") is True or str(check.get("disable")).lower() == "true":
        return "disable: true"
    test = check.get("test")
    first = test[0] if isinstance(test, list) and test else test
    if isinstance(first, str) and first.strip().upper() == "NONE":
        return "test: [NONE]"
    return None


@rule("CMP074", "healthcheck-disabled", Severity.LOW, title="Healthcheck switched off",
      on=Service, checklist=["10.1.1"], refs=["CIS Docker Benchmark 4.6 (HEALTHCHECK)"],
      impact=Impact("service", (1, 2)))
def healthcheck_disabled(service: Service, settings):
    """Reports services whose healthcheck is explicitly disabled (`disable: true` or
    `test: ["NONE"]`), which also switches off the one the image defines.

    Why it matters:
    Without a healthcheck Docker reports a hung service as running: `restart` policies do not
    fire, `depends_on: condition: service_healthy` cannot wait for it, and monitoring sees
    nothing wrong (seed 10.1: service health checks configured).

    Example:
    ```yaml
    services:
      app:
        image: ghcr.io/example/app:1.4
        healthcheck:
          disable: true
    ```

    Fix:
    Remove the override to keep the image's healthcheck, or define one that exercises the
    service:
    ```yaml
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://localhost:8080/health"]
      interval: 30s
      retries: 3
    ```
    """
    how = _healthcheck_disabled(service)
    if how:
        yield Hit(f"the healthcheck is switched off ({how}): Docker cannot tell a hung service "
                  "from a healthy one", service.loc("healthcheck"), resource="healthcheck",
                  evidence=how, fix="remove the `healthcheck` override, or give it a `test` "
                                    "that exercises the service")


# --- provers: what shows the items hold ---------------------------------------------------

def _limit_note(service: Service, label: str) -> str | None:
    for name, keys, deploy_key, _ in _RESOURCE_KEYS:
        if name != label or _incomplete(service):
            continue
        for key in keys:
            if _set(service.raw.get(key)):
                return f"{key}: {service.raw.get(key)}"
        if _set(_limits(service).get(deploy_key)):
            return f"deploy.resources.limits.{deploy_key}: {_limits(service).get(deploy_key)}"
    return None


@prover("CMP070", "4.4.1")
def memory_limit_set(service: Service, settings):
    return _limit_note(service, "memory")


@prover("CMP070", "4.4.2")
def cpu_limit_set(service: Service, settings):
    return _limit_note(service, "CPU")


@prover("CMP071", "4.4.3")
def restart_policy_set(service: Service, settings):
    if _incomplete(service):
        return None
    restart = service.raw.get("restart")
    if restart is not None and restart is not False and str(restart).strip() not in ("", "no"):
        return f"restart: {restart}"
    policy = service.path("deploy", "restart_policy")
    if isinstance(policy, Map) and str(policy.get("condition") or "any").lower() != "none":
        return f"deploy.restart_policy: {policy.get('condition') or 'any'}"
    if _one_shot(service):
        return "a one-shot job other services wait for (no restart is right)"
    return None


@prover("CMP072", "6.1.1")
def logs_captured(service: Service, settings):
    driver, _, _ = _logging(service)
    if _incomplete(service) or driver == "none":
        return None
    return f"container logs kept by the {driver or 'json-file (default)'} driver"


def _rotated(service: Service, settings):
    driver, options, _ = _logging(service)
    if _incomplete(service) or driver == "none":
        return None
    if driver not in ("", "json-file"):
        return f"logs go to the {driver} driver"
    if all(_set(options.get(k)) for k in ("max-size", "max-file")):
        return f"json-file max-size {options.get('max-size')}, max-file {options.get('max-file')}"
    return None


prover("CMP073", "4.4.4")(_rotated)
prover("CMP073", "6.1.6")(_rotated)


@prover("CMP074", "10.1.1")
def healthcheck_defined(service: Service, settings):
    """Only a healthcheck the file defines: the image's own HEALTHCHECK is not visible
    here (the Docker Engine source sees it)."""
    check = service.raw.get("healthcheck")
    if _incomplete(service) or not isinstance(check, Map) or _healthcheck_disabled(service):
        return None
    test = check.get("test")
    if test is None:
        return None
    shown = str(test) if isinstance(test, str) else " ".join(str(t) for t in test)
    return f"healthcheck: {shown[:60]}"
