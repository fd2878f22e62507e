"""Rules about central logging (checklist 6.1.3, 5.3.5), judged from the lab's log shipper
and Loki joined with the inventory: `ServiceLogs` (whether each of a service's containers
is collected) and `LogRetention` (how long Loki keeps what it gets).
"""

from __future__ import annotations

from labwarden.model import Hit, Impact, Location, Severity
from labwarden.rules.registry import prover, rule
from labwarden.sources.monitoring.facts import LogRetention, ServiceLogs

RESTART_SHIPPER = Impact("none", (0, 1))     # the shipper restarts; the service does not


@rule("MON007", "logs-not-shipped", Severity.MEDIUM,
      title="Service's logs not shipped to the log store", on=ServiceLogs,
      checklist=["6.1.3"],
      refs=["CIS Docker Benchmark 2.13 (centralized and remote logging)",
            "OWASP Logging Cheat Sheet"], impact=RESTART_SHIPPER)
def logs_not_shipped(fact: ServiceLogs, settings):
    """Reports an inventory service some of whose containers the lab's log shipper does not
    collect: the shipper's Docker discovery filters them out (a label or name filter, a
    `keep`/`drop` relabel rule), it reads only Docker's json-file logs and the container
    logs elsewhere, or no shipper runs at all beside the log store. A container whose
    logging driver sends its logs away itself (loki, fluentd, gelf, syslog…) is shipped.

    Why it matters:
    Logs that stay on the host are lost with it, cannot be correlated with the rest of the
    lab, and are what an intruder edits first. A filter written for the first stacks of the
    lab silently leaves every later one out.

    Example:
    Promtail keeps only containers labelled `logging=promtail`, and the paperless containers
    have no such label.

    Fix:
    Add the label the shipper keeps to the service (`labels: {logging: promtail}`), or
    widen the shipper's filter; then check the service's streams in Grafana's Explore.
    """
    if fact.error is not None or not fact.missed:
        return
    if fact.unresolved and fact.shippers:
        return             # a rule labwarden cannot read might ship them
    why = "no log shipper runs in the lab's Compose projects" if not fact.shippers else \
        "the log shipper does not collect them"
    yield Hit(f"{fact.service}: {why}: {', '.join(fact.missed[:4])}"
              + (" …" if len(fact.missed) > 4 else ""),
              fact.location or Location(fact.shippers[0] if fact.shippers else ""),
              resource="logs", evidence="; ".join(fact.shipped_by[:3]))


@prover("MON007", "6.1.3")
def logs_shipped(fact: ServiceLogs, settings):
    if fact.error is not None or fact.missed or not fact.containers:
        return None
    return "; ".join(fact.shipped_by[:2]) + (" …" if len(fact.shipped_by) > 2 else "")


@rule("MON008", "log-retention-not-configured", Severity.MEDIUM,
      title="Log store keeps logs without a retention period", on=LogRetention,
      checklist=["5.3.5"], refs=["Grafana Loki: retention (compactor)",
                                 "GDPR Art. 5(1)(e) (storage limitation)"],
      impact=Impact("service", (1, 2)))
def log_retention_not_configured(fact: LogRetention, settings):
    """Reports a Loki that deletes nothing: no `limits_config.retention_period` (or 0), or a
    period the compactor never applies because `compactor.retention_enabled` is not true
    (the table manager's `retention_deletes_enabled`, for old setups); also a Loki running
    its image's built-in configuration, which sets neither.

    Why it matters:
    Logs kept forever fill the disk (and then Loki stops ingesting, exactly when an incident
    needs the logs), and keep personal data longer than any policy allows. A period set
    without the compactor enabled looks configured and deletes nothing.

    Example:
    ```yaml
    limits_config:
      retention_period: 2160h     # 90 days…
    compactor:
      working_directory: /loki/compactor   # …but retention_enabled is not set
    ```

    Fix:
    ```yaml
    limits_config:
      retention_period: 2160h
    compactor:
      working_directory: /loki/compactor
      retention_enabled: true
      delete_request_store: filesystem
    ```
    """
    if fact.error is not None:
        return
    where = fact.location or Location(fact.where)
    if fact.builtin:
        yield Hit(f"Loki ({fact.where}) runs its image's built-in configuration: no "
                  "retention, logs are kept until the disk is full", where,
                  resource="retention", fix="mount a configuration with "
                  "limits_config.retention_period and compactor.retention_enabled: true")
    elif not fact.hours:
        yield Hit(f"Loki ({fact.where}) sets no retention period: logs are kept forever",
                  where, resource="retention",
                  evidence=f"retention_period: {fact.retention_period or '(not set)'}")
    elif fact.retention_enabled is not True:
        switch = "compactor.retention_enabled" if fact.mode == "compactor" else \
            "table_manager.retention_deletes_enabled"
        yield Hit(f"Loki ({fact.where}) has retention_period {fact.retention_period}, but "
                  f"{switch} is not true: nothing is deleted", where, resource="retention",
                  evidence=f"{switch}: {fact.retention_enabled}")


@prover("MON008", "5.3.5")
def log_retention_configured(fact: LogRetention, settings):
    if fact.error is not None or fact.builtin or not fact.hours or \
            fact.retention_enabled is not True:
        return None
    days = fact.hours / 24
    return f"Loki retention {fact.retention_period} ({days:g} days), applied by the {fact.mode}"
