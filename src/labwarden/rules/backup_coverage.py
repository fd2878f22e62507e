"""Whether a stateful service names a backup at all (checklist 5.1.1), judged on its Compose
services with the inventory's plans (`Settings.backup.plans`, from labwarden.yaml).

A Compose service is stateful when its image is a database (the `database` classes of
`knowledge.ports`, caches such as Redis and Memcached left out: they are rebuilt, not
restored) or when it mounts a volume the inventory marks (`stateful_volumes:`: a named
volume, a bind source or the path in the container). Only services of the inventory are
judged: a Compose project no inventory service describes has nowhere to say where its
backup is.
"""

from __future__ import annotations

import os

from labwarden.knowledge.ports import classify
from labwarden.model import Hit, Impact, Severity
from labwarden.rules.registry import rule
from labwarden.sources.compose.model import Service

CACHES = ("Redis", "Memcached")


def database_of(service: Service) -> str | None:
    """The database the image is (`PostgreSQL`), or None."""
    found = classify(service.image, [])
    if found is None or found.kind != "database" or found.label in CACHES:
        return None
    return found.label


def marked_mounts(service: Service, marked: tuple[str, ...]) -> list[str]:
    """The service's mounts the inventory marks as state: by volume name, bind source (as
    written or normalised) or container path."""
    if not marked:
        return []
    wanted = set(marked) | {os.path.normpath(m) for m in marked if "/" in m}
    found = []
    for mount in service.mounts:
        names = {mount.target, mount.source or ""}
        if mount.source and "/" in mount.source:
            names.add(os.path.normpath(mount.source))
        if names & wanted:
            found.append(mount.spec)
    return found


@rule("BAK001", "stateful-service-without-backup", Severity.HIGH,
      title="Stateful service without a backup", on=Service, checklist=["5.1.1"],
      refs=["CIS Controls v8 11.2", "NIST SP 800-34"], impact=Impact("none", (0, 0)))
def stateful_without_backup(service: Service, settings):
    """Reports a Compose service that holds state (a database image, or a volume the
    inventory marks with `stateful_volumes:`) while the inventory service it belongs to
    names no backup (`backups:` in labwarden.yaml: a restic or Borg repository) and does not
    run on a Proxmox VE guest (whose vzdump jobs PVE020 judges).

    Why it matters:
    Containers are disposable, their data is not: a database volume on one disk is one
    failure, one `docker compose down -v` or one ransomware run away from being gone. A
    service whose state has no backup cannot be recovered, only reinstalled empty.

    Example:
    `services: {paperless: {compose: paperless}}` in labwarden.yaml, and
    `image: postgres:16` in paperless/compose.yaml, with no `backups:`.

    Fix:
    Back the data up (a nightly `pg_dump` into a folder a restic or Borg job saves, or the
    volume itself) and name the repository under the service:
    `backups: ["restic:/srv/backup/paperless"]`. A service whose host is a Proxmox VE guest
    (`hosts.H.proxmox` in labwarden.yaml) is left to PVE020, which reads whether a vzdump job
    backs the whole guest up; covered another way, waive this rule with that justification.
    """
    config = getattr(settings, "backup", None)
    if config is None or not config.plans:
        return
    plans = config.plans_for(os.path.abspath(service.project.directory), service.name)
    if not plans or any(plan.repositories or plan.proxmox_guest for plan in plans):
        return
    reasons = []
    database = database_of(service)
    if database:
        reasons.append(f"its image {service.image} is a {database} database")
    marked = [mount for plan in plans for mount in marked_mounts(service,
                                                                 plan.stateful_volumes)]
    if marked:
        reasons.append(f"it mounts state the inventory marks ({', '.join(marked)})")
    if not reasons:
        return
    names = ", ".join(plan.name for plan in plans)
    yield Hit(f"{service.name} holds state ({'; '.join(reasons)}), and no backup covers it: "
              f"inventory service {names} names no `backups:`",
              service.loc("image") if database else service.loc("volumes"),
              resource="backup", evidence="; ".join(reasons))
