"""Rules about container names: the naming convention, and names that collide across the
audited tree (Docker refuses to create a second container with a name already taken).
"""

from __future__ import annotations

import re

from labwarden.model import Hit, Impact, Location, Severity
from labwarden.rules.registry import prover, rule
from labwarden.sources.compose.model import ComposeTree, ContainerRef, Service

_NOT_KEBAB = re.compile(r"[^a-z0-9]+")


def _kebab(text: str) -> str:
    return _NOT_KEBAB.sub("-", text.lower()).strip("-")


def _suggestion(service: Service) -> str:
    """`<stack>-<service>`, unless the service name already has two parts."""
    name = _kebab(service.name)
    if "-" in name:
        return name
    declared = service.project.raw.get("name")     # `name:` beats the directory's name
    stack = _kebab(str(declared) if declared else service.project.name.rsplit("/", 1)[-1])
    if not stack or stack == name:
        return f"{name}-app" if name else "stack-service"
    return f"{stack}-{name}"


@rule("CMP090", "container-name-convention", Severity.LOW,
      title="Container name breaks the naming convention", on=Service, checklist=["4.5.1"],
      refs=["Security pre-deployment checklist 4.5 (container naming)"],
      impact=Impact("service", (1, 2)))
def container_name_convention(service: Service, settings):
    """Reports an explicit `container_name` that does not match the naming convention
    (policy `container_name_pattern`; by default `<service>-<component>`: lower-case
    kebab-case with at least two parts, such as `paperless-webserver` or
    `monitoring-grafana`). Services without `container_name` are not reported: Compose
    names them `<project>-<service>-<n>`, which is unique and says where they come from.

    Why it matters:
    Names are how people and tools find containers: in `docker ps`, in alerts, in firewall
    and backup scripts, in the reverse proxy's upstreams. A name that does not say which
    stack a container belongs to (`db`, `redis`, `app`) is easy to confuse with another
    stack's and likely to collide with it.

    Example:
    ```yaml
    name: paperless
    services:
      redis:
        image: redis:7.4
        container_name: redis
    ```

    Fix:
    Name it `<stack>-<component>` (`container_name: paperless-redis`), update anything that
    refers to the old name, or drop `container_name` and let Compose name it.
    """
    value = service.raw.get("container_name")
    if value is None or isinstance(value, (dict, list)):
        return
    name = str(value)
    if not name or settings.container_name_regex.fullmatch(name):
        return
    suggestion = _suggestion(service)
    written = (service.raw.written or {}).get("container_name")
    yield Hit(f"container name `{name}` does not follow the `<service>-<component>` "
              f"convention (pattern `{settings.container_name_pattern}`), e.g. `{suggestion}`",
              service.loc("container_name"), resource="container_name",
              evidence=f"container_name: {name}" + (f" (written `{written}`)" if written else ""),
              fix=f"container_name: {suggestion}")


# --- collisions across the tree --------------------------------------------------------------

def _where(ref: ContainerRef, root: str) -> str:
    """`stack/compose.yaml:12 (service web)`, relative to the audited root when under it."""
    path = ref.location.path
    for base in root.split(","):
        base = base.rstrip("/")
        if base and path.startswith(base + "/"):
            path = path[len(base) + 1:]
            break
    return f"{Location(path, ref.location.line)} (service {ref.asset.rsplit('/', 1)[-1]})"


@rule("CMP091", "duplicate-container-name", Severity.HIGH,
      title="Container name used more than once", on=ComposeTree, checklist=["4.5.3"],
      refs=["Docker documentation: docker run --name (names are unique per host)"],
      impact=Impact("service", (1, 3)))
def duplicate_container_name(tree: ComposeTree, settings):
    """Reports a `container_name` set by more than one service across every project of the
    audited tree, at each of those services, naming the others.

    Why it matters:
    Container names are unique on a Docker host. When two stacks ask for the same name, the
    second `docker compose up` fails ("the container name is already in use") or, with
    `--force-recreate` habits and scripts, removes the other stack's container. Either way
    a deployment breaks, often during an unrelated update.

    Example:
    ```yaml
    # monitoring/compose.yaml
    services:
      grafana:
        container_name: grafana
    # dashboards/compose.yaml
    services:
      grafana:
        container_name: grafana
    ```

    Fix:
    Give each a name prefixed with its stack (`monitoring-grafana`, `dashboards-grafana`),
    or drop `container_name` so Compose names them `<project>-<service>-1`.
    """
    groups: dict[str, list[ContainerRef]] = {}
    seen = set()
    for ref in tree.containers:
        key = (ref.name, ref.asset, ref.location)
        if ref.explicit and ref.name and key not in seen:   # one service is not a collision
            seen.add(key)
            groups.setdefault(ref.name, []).append(ref)
    for name, refs in groups.items():
        if len(refs) < 2:
            continue
        # Every occurrence is reported, not "all but the first": which one came first
        # depends on the order of the walk, and fingerprints must not move when a new
        # stack sorts earlier.
        # What each finding of the group shares, made once: the texts of the first refs
        # (any five of them but the ref's own are listed), the count of the others.
        shown = [_where(r, tree.root) for r in refs[:6]]
        others = len(refs) - 1
        more = f" and {others - 5} more" if others > 5 else ""
        where = "another service" if others == 1 else f"{others} other services"
        kebab = _kebab(name) or "service"
        for index, ref in enumerate(refs):
            listed = "; ".join([text for i, text in enumerate(shown) if i != index][:5])
            yield Hit(f"container name `{name}` is also set by {where}: {listed}{more}; "
                      "Docker refuses to start the second container with that name",
                      ref.location, resource=f"container_name:{name}", asset=ref.asset,
                      evidence=f"container_name: {name}",
                      fix=_unique_name(_stack_of(ref), kebab))


def _stack_of(ref: ContainerRef) -> str:
    """The project of `compose:<project>/<service>` (a project key may hold slashes)."""
    project = ref.asset.split(":", 1)[-1].rsplit("/", 1)[0]
    return _kebab(project.rsplit("/", 1)[-1]) or "stack"


def _unique_name(stack: str, name: str) -> str:
    """The fix for a container of `stack` (`_stack_of`) named `name` (kebab-cased)."""
    if name == stack or name.startswith(stack + "-"):
        return f"remove container_name (Compose names it `{stack}-<service>-1`), or make " \
               "it unique"
    return f"container_name: {stack}-{name}, or remove container_name"


# --- provers: what shows the items hold ---------------------------------------------------

@prover("CMP090", "4.5.1")
def container_name_follows_convention(service: Service, settings):
    """The name the container gets: its `container_name`, else the one Compose gives
    (`<project>-<service>-1`), matched against the convention."""
    value = service.raw.get("container_name")
    if isinstance(value, (dict, list)):
        return None
    name = str(value) if value is not None else f"{service.project.name}-{service.name}-1"
    if not name or "$" in name or not settings.container_name_regex.fullmatch(name):
        return None
    return f"container name `{name}` follows `{settings.container_name_pattern}`"
