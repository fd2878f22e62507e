"""Which container a wrong name in a script meant, read from the lab's structure rather
than from spelling alone (issue 16): a misspelt `paperless-postgres` is the paperless
stack's database container, not the stack's Redis that happens to be the nearest string.

A name a letter or two away from one real name (of the role the name states, if any) is
that name. Otherwise the name is split into its stack (a Compose project's name, or the
first word its containers share) and its component. Within that stack, in order: the component is a
service's name; the component names a role (database, cache, proxy, web…) that exactly one
container of the stack has, by its image or its own name; the component is close to one
service or container suffix. Without a stack, the nearest name of the whole lab, but never
one whose role contradicts the role the name states. No answer is better than a wrong one.
"""

from __future__ import annotations

import difflib
import re

from labwarden.knowledge import images as _images
from labwarden.knowledge.ports import MYSQL, POSTGRES, REDIS

# Words that state a component's role, and images that have it.
ROLE_WORDS: dict[str, frozenset[str]] = {
    "database": frozenset({"db", "database", "postgres", "postgresql", "pg", "psql", "pgsql",
                           "mysql", "mariadb", "maria", "mongo", "mongodb", "sql", "sqldb"}),
    "cache": frozenset({"redis", "cache", "broker", "valkey", "keydb", "memcached", "kv"}),
    "proxy": frozenset({"proxy", "nginx", "traefik", "caddy", "npm", "gateway"}),
    "web": frozenset({"web", "webserver", "app", "server", "frontend", "ui", "http", "www"}),
    "worker": frozenset({"worker", "celery", "queue", "jobs", "scheduler", "cron"}),
}
ROLE_IMAGES: dict[str, tuple[str, ...]] = {
    "database": POSTGRES + MYSQL + ("mongo", "mongodb", "bitnami/postgresql",
                                    "bitnami/mariadb", "bitnami/mysql"),
    "cache": REDIS + ("memcached", "bitnami/redis", "rabbitmq"),
    "proxy": ("jc21/nginx-proxy-manager", "traefik", "caddy", "nginx", "haproxy", "swag"),
}
_SPLIT = re.compile(r"[-_.]")


def role_of_words(text: str) -> str | None:
    """The role the last word states (the component comes last: `nginx-golang-backend`
    is a backend, not a proxy)."""
    words = [w for w in _SPLIT.split(text.lower()) if w and not w.isdigit()]
    if not words:
        return None
    for role, vocabulary in ROLE_WORDS.items():
        if words[-1] in vocabulary:
            return role
    return None


def role_of(container) -> str | None:
    """A container's role by its image, else by its service's or its own name."""
    for role, images in ROLE_IMAGES.items():
        if container.image and _images.matches(container.image, images):
            return role
    return role_of_words(container.service) or role_of_words(container.name)


def _roles(container) -> set[str | None]:
    """Every role a container can be named by: its image's, its service's, its name's (an
    nginx image serving the stack's `web`)."""
    return {role_of(container), role_of_words(container.service), role_of_words(container.name)}


def _stack(name: str, known) -> tuple[list, str]:
    """The containers of the stack the name is about, and the name's component."""
    lowered = name.lower()
    best = ""
    for project in known.projects:
        prefix = project.compose_name.lower()
        if prefix and len(prefix) > len(best) and lowered.startswith(prefix) and \
                lowered[len(prefix):len(prefix) + 1] in ("-", "_"):
            best = prefix
    if best:
        members = [c for c in known.containers.values() if c.project.lower() == best]
        if members:
            return members, name[len(best) + 1:]
    head, sep, rest = lowered.partition("-")
    if not sep:
        head, sep, rest = lowered.partition("_")
    if sep:
        members = [c for c in known.containers.values()
                   if _SPLIT.split(c.name.lower())[0] == head]
        if members:
            projects = {c.project for c in members}
            if len(projects) == 1:
                return members, name[len(head) + 1:]
    return [], name


def _suffix(container) -> str:
    """A container's component: its name past the stack (`paperless-db` → `db`), with a
    Compose default name's index dropped."""
    name = container.name
    if name.lower().startswith(container.project.lower()) and \
            len(name) > len(container.project) + 1:
        name = name[len(container.project) + 1:]
    return re.sub(r"[-_]\d+$", "", name)


# A name this close to one real name is a typo of it (a letter dropped or swapped), and
# the structure is not asked: a typo in the stack's own name would hide the stack. Low
# enough for `paperless-webservr`, far above `paperless-postgres` vs `paperless-broker`.
TYPO_RATIO = 0.85
TYPO_MARGIN = 0.03          # over the second closest, or the typo is ambiguous


def _typo_of(name: str, known) -> str | None:
    candidates = sorted(set(known.containers) | known.created)
    scored = []
    for candidate in candidates:
        matcher = difflib.SequenceMatcher(None, name, candidate)
        if matcher.real_quick_ratio() >= TYPO_RATIO and matcher.quick_ratio() >= TYPO_RATIO:
            ratio = matcher.ratio()
            if ratio >= TYPO_RATIO:
                scored.append((ratio, candidate))
    if not scored:
        return None
    scored.sort(reverse=True)
    if len(scored) > 1 and scored[0][0] - scored[1][0] < TYPO_MARGIN:
        return None
    best = scored[0][1]
    wanted = role_of_words(name)
    container = known.containers.get(best)
    if container is not None and wanted and wanted not in _roles(container):
        return None              # `chevereto-db` is not a typo of `chevereto`: ask the stack
    return best


def meant(name: str, known) -> tuple[str | None, str]:
    """(the container the name meant, why), or (None, "") when the lab does not tell."""
    typo = _typo_of(name, known)
    if typo is not None:
        return typo, ""
    members, component = _stack(name, known)
    component = re.sub(r"[-_]\d+$", "", component)
    wanted = role_of_words(component) if members else role_of_words(name)
    if members:
        stack = members[0].project
        by_service = [c for c in members if c.service.lower() == component.lower() or
                      _suffix(c).lower() == component.lower()]
        if len(by_service) == 1:
            return by_service[0].name, f"`{component}` is the `{stack}` stack's service " \
                f"`{by_service[0].service}`"
        if wanted:
            roles = [c for c in members if role_of(c) == wanted]
            if len(roles) == 1:
                return roles[0].name, f"`{component}` names the `{stack}` stack's " \
                    f"{wanted} (service `{roles[0].service}`" + \
                    (f", image `{roles[0].image}`)" if roles[0].image else ")")
            if len(roles) > 1:
                return None, ""          # two databases in the stack: the name cannot tell
        suffixes = {_suffix(c).lower(): c for c in members}
        suffixes.update({c.service.lower(): c for c in members})
        close = difflib.get_close_matches(component.lower(), list(suffixes), n=1, cutoff=0.6)
        if close:
            container = suffixes[close[0]]
            if not wanted or role_of(container) in (wanted, None):
                return container.name, ""
        return None, ""
    candidates = sorted(set(known.containers) | known.created)
    for close in difflib.get_close_matches(name, candidates, n=3, cutoff=0.6):
        container = known.containers.get(close)
        if container is None or not wanted or role_of(container) in (wanted, None):
            return close, ""
    return None, ""
