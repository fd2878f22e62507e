"""No step restarts a dependant before its dependency's final state: on a lab of three
stacks with a five-deep chain of dependencies (depends_on, a URL over a shared network, a
host variable), and on three multi-service projects of the shared Compose corpus."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from labwarden.audit import AuditOptions, run
from labwarden.commands.remediation import build_roadmap
from labwarden.config import load_config

# ../shared beside the checkout (/work/main), or beside the worktrees' directory (/work/wt/x)
CORPUS = next((p for p in (Path(__file__).parents[i] / "shared" / "corpus" / "compose"
                           for i in (3, 4)) if p.is_dir()),
              Path(__file__).parents[3] / "shared" / "corpus" / "compose")

STACKS = {
    # the database: only a LOW finding of its own (no log rotation)
    "data": """
        name: data
        services:
          pg:
            image: postgres:16.4
            container_name: data-pg
            restart: unless-stopped
            environment:
              POSTGRES_USER: app
              POSTGRES_DB: app
              POSTGRES_PASSWORD_FILE: /run/secrets/pg
            networks: [backend]
        networks:
          backend:
            name: backend
        """,
    # api uses pg over the shared network (no depends_on can say so across projects);
    # worker depends on api, web on worker; web is privileged (CRITICAL)
    "app": """
        name: app
        services:
          api:
            image: ghcr.io/example/api:1.0.0
            container_name: app-api
            restart: unless-stopped
            environment:
              DATABASE_URL: postgres://app@pg:5432/app
            networks: [backend]
          worker:
            image: ghcr.io/example/worker:1.0.0
            container_name: app-worker
            restart: unless-stopped
            depends_on: [api]
            environment:
              API_URL: http://api:8080
            networks: [backend]
          web:
            image: ghcr.io/example/web:1.0.0
            container_name: app-web
            restart: unless-stopped
            privileged: true
            depends_on: [worker]
            networks: [backend]
        networks:
          backend:
            external: true
        """,
    # site reaches web by a host variable
    "front": """
        name: front
        services:
          site:
            image: ghcr.io/example/site:1.0.0
            container_name: front-site
            restart: unless-stopped
            environment:
              BACKEND_HOST: web
            ports:
              - "9443:9443"
            networks: [backend]
        networks:
          backend:
            external: true
        """,
}


def roadmap_of(path: Path):
    config = load_config(None)
    result = run([str(path)], AuditOptions(config=config, keep_facts=True))
    assert not result.errors, result.errors
    return result, build_roadmap([str(path)], config, result)


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    root = tmp_path_factory.mktemp("chain")
    for name, text in STACKS.items():
        (root / name).mkdir()
        (root / name / "compose.yaml").write_text(textwrap.dedent(text))
    return roadmap_of(root)


def order(roadmap) -> list[str]:
    return [u for p in roadmap.phases for s in p.steps for u in s.units]


def test_the_chain_is_in_the_graph(chain) -> None:
    _, roadmap = chain
    lab = roadmap.lab
    assert lab.dependencies("compose:front/site") == {"compose:app/web"}
    assert lab.dependencies("compose:app/web") == {"compose:app/worker"}
    assert lab.dependencies("compose:app/worker") == {"compose:app/api"}
    assert lab.dependencies("compose:app/api") == {"compose:data/pg"}
    # a database named like a service is not a connection to it
    assert not lab.dependencies("compose:data/pg")


def test_deep_chain_restarts_bottom_up(chain) -> None:
    result, roadmap = chain
    assert roadmap.violations() == []
    units = order(roadmap)
    chain_order = ["compose:data/pg", "compose:app/api", "compose:app/worker",
                   "compose:app/web", "compose:front/site"]
    assert [u for u in units if u in chain_order] == chain_order
    # the CRITICAL fix to web pulls everything below it into phase 2, each with its reason
    phase2 = {u for s in roadmap.phases[1].steps for u in s.units}
    assert set(chain_order[:4]) <= phase2
    data = next(s for s in roadmap.phases[1].steps if s.stack == "compose:data")
    assert any("app/api depends on it (names it over the shared network backend)" in n
               for n in data.notes)
    # the data stack's step comes before the app stack's within the phase
    stacks = [s.stack for s in roadmap.phases[1].steps]
    assert stacks.index("compose:data") < stacks.index("compose:app")
    # api has no depends_on on pg (another project): nothing in the app step waits for it
    # but the order of steps; worker -> api is Compose's own order inside one `up -d`
    app = next(s for s in roadmap.phases[1].steps if s.stack == "compose:app")
    assert "docker compose up -d   # recreates what changed, dependencies first" in app.commands
    # the app stack's downtime is its chain api -> worker -> web, three applications
    assert app.downtime == (1.5, 4.5)


@pytest.mark.parametrize("project", [
    "Haxxnet__Compose-Examples/examples/authentik",
    "Haxxnet__Compose-Examples/examples/paperless-ngx",
    "docker__awesome-compose/nextcloud-redis-mariadb",
])
def test_corpus_projects_keep_dependencies_first(project) -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"the shared Compose corpus is not here ({CORPUS})")
    result, roadmap = roadmap_of(CORPUS / project)
    assert roadmap.violations() == []
    assert roadmap.findings == len(result.active())
    # every restarted service of the project with a dependency restarts after it or with it
    position = {u: i for i, u in enumerate(order(roadmap))}
    for unit, at in position.items():
        for dependency in roadmap.lab.dependencies(unit):
            if dependency in position:
                assert position[dependency] < at or _same_step(roadmap, unit, dependency)
    assert any(roadmap.lab.edges.values())       # the project does have dependencies


def _same_step(roadmap, a: str, b: str) -> bool:
    return any(a in s.units and b in s.units for p in roadmap.phases for s in p.steps)


def test_corpus_mariadb_rotation() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"the shared Compose corpus is not here ({CORPUS})")
    _, roadmap = roadmap_of(CORPUS / "docker__awesome-compose/nextcloud-redis-mariadb")
    step = next(s for p in roadmap.phases for s in p.steps
                if "compose:nextcloud-redis-mariadb/db" in s.units)
    alter = next(c for c in step.commands if "ALTER USER" in c)
    assert "IDENTIFIED BY" in alter and "nextcloud" in alter and "mysql -uroot" in alter
    assert any(c.startswith("# nc: set MYSQL_PASSWORD") for c in step.commands)


def test_a_project_of_unusual_file_names_gets_its_files_named(tmp_path) -> None:
    """`docker compose` alone reads compose.yaml and its override only: a project of
    another name needs `-f` in every command of its step."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "docker-compose-mariadb.yml").write_text(textwrap.dedent(
        STACKS["app"]).replace("external: true", "name: backend"))
    _, roadmap = roadmap_of(tmp_path / "app" / "docker-compose-mariadb.yml")
    step = next(s for p in roadmap.phases for s in p.steps if s.restarts == "stack")
    compose_lines = [c for c in step.commands + step.verify + step.rollback
                     if c.startswith("docker compose")]
    assert compose_lines
    assert all(c.startswith("docker compose -f docker-compose-mariadb.yml ")
               for c in compose_lines)


@pytest.mark.parametrize("user", ["app{user}", "${DB_USER}", "{0}", "o'brien"])
def test_a_database_user_of_any_spelling_is_quoted_in_the_rotation(tmp_path, user) -> None:
    """The rotation's statement carries values of the Compose file: braces (an unresolved
    `${DB_USER}` of a public repository ended `roadmap` with a KeyError) and quotes are
    the file's, shell-quoted, whatever they are."""
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "compose.yaml").write_text(textwrap.dedent(f"""\
        services:
          db:
            image: postgres:16
            environment:
              POSTGRES_USER: "{user}"
              POSTGRES_PASSWORD: changeme
          app:
            image: ghcr.io/example/app:1.0
            depends_on: [db]
            environment:
              DB_PASSWORD: changeme
        """).replace("$", "$$"))
    _, roadmap = roadmap_of(tmp_path / "db" / "compose.yaml")
    step = next(s for p in roadmap.phases for s in p.steps
                if any("ALTER USER" in c for c in s.commands))
    alter = next(c for c in step.commands if "ALTER USER" in c)
    assert f"'{user}'" in alter or user.replace("'", "'\\''") in alter
    assert any("ALTER USER" in c for c in step.rollback)
    assert "changeme" not in "\n".join(step.commands + step.rollback)


# nginx → frontend → backend-api → backend-plugin → nginx (the plugin calls back through the
# web server's URL): a cycle of the restart graph, as in a real app store's stack.
CYCLE = """
services:
  frontend:
    image: ghcr.io/example/console:1.0
    depends_on: [backend-web, backend-api]
  backend-inference:
    image: ghcr.io/example/inference:1.0
    environment:
      ICON_URL_PREFIX: http://nginx:3080
  backend-plugin:
    image: ghcr.io/example/plugin:1.0
    environment:
      HOST_URL: http://nginx:3080
  backend-api: &server
    image: ghcr.io/example/server:1.0
    depends_on: [db, cache, backend-inference, backend-plugin]
    environment:
      POSTGRES_URL: postgres://postgres:Example321@db:5432/app
      REDIS_URL: redis://:Example321@cache:6379/0
      INFERENCE_URL: http://backend-inference:8000
      PLUGIN_URL: http://backend-plugin:8000
      HOST_URL: http://nginx:3080
  backend-web: *server
  db:
    image: postgres:16.4
    environment:
      POSTGRES_PASSWORD: Example321
  cache:
    image: redis:7.2
    command: redis-server --requirepass Example321
  nginx:
    image: nginx:1.24
    ports: ["8080:80"]
    depends_on: [frontend, backend-web, backend-api]
"""


def test_a_dependency_cycle_gets_the_same_downtime_on_every_run(tmp_path: Path) -> None:
    """Compose refuses a depends_on cycle, but the roadmap of such a file is still the same
    from run to run: the chains are walked in order, not in a set's hash order."""
    import json
    import os
    import subprocess
    import sys

    (tmp_path / "compose.yaml").write_text(CYCLE)
    plans = set()
    for seed in map(str, range(1, 9)):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-m", "labwarden", "roadmap", str(tmp_path),
                               "--format", "json"], capture_output=True, text=True, env=env,
                              check=False)
        assert done.returncode == 0, done.stderr
        plans.add(json.dumps(json.loads(done.stdout)["downtime_min"]))
    assert len(plans) == 1, plans
