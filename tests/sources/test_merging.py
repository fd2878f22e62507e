"""Override files, `-f` stacks and Compose's merge rules, with the location of every value."""

from __future__ import annotations

import os

import pytest

BASE = """
services:
  web:
    image: nginx:1.27
    command: ["nginx", "-g", "daemon off;"]
    environment:
      - MODE=prod
      - LOG=info
    ports:
      - "80:80"
    volumes:
      - ./html:/usr/share/nginx/html:ro
      - logs:/var/log/nginx
    cap_add: [NET_BIND_SERVICE]
    read_only: true
    labels:
      tier: front
  db:
    image: postgres:16
"""

OVERRIDE = """
services:
  web:
    command: nginx-debug -g 'daemon off;'
    environment:
      LOG: debug
      EXTRA: "1"
    ports:
      - "443:443"
      - "80:80"
    volumes:
      - type: bind
        source: ./dev-html
        target: /usr/share/nginx/html
    privileged: true
    read_only:
"""


@pytest.mark.parametrize("base_name, override_name", [
    ("compose.yaml", "compose.override.yaml"),
    ("compose.yml", "compose.override.yml"),
    ("docker-compose.yml", "docker-compose.override.yml"),
    ("docker-compose.yaml", "docker-compose.override.yaml"),
    # compose-go takes the first override name present, whatever the base file's name.
    ("docker-compose.yml", "compose.override.yaml"),
])
def test_override_is_merged_automatically(lw, base_name, override_name):
    root = lw.tree({base_name: BASE, override_name: OVERRIDE})
    loaded = lw.load(root)
    assert [os.path.basename(f) for f in loaded.project.files] == [base_name, override_name]
    web = loaded.service("web")
    base, override = root / base_name, root / override_name

    # command is replaced, not merged.
    assert web.get("command") == "nginx-debug -g 'daemon off;'"
    assert lw.at(web.loc("command"), override, "command:")
    # environment: a list and a mapping merge by key.
    env = web.environment
    assert {k: v.value for k, v in env.items()} == {"MODE": "prod", "LOG": "debug",
                                                   "EXTRA": "1"}
    assert lw.at(env["MODE"].location, base, "MODE=prod")
    assert lw.at(env["LOG"].location, override, "LOG: debug")
    # ports: a union, without duplicates.
    assert [(p.published, p.target) for p in web.ports] == [("80", "80"), ("443", "443")]
    assert lw.at(web.ports[0].location, base, '"80:80"')
    assert lw.at(web.ports[1].location, override, '"443:443"')
    # volumes: merged by container path; the override's long form replaces the short one.
    mounts = {m.target: m for m in web.mounts}
    assert set(mounts) == {"/usr/share/nginx/html", "/var/log/nginx"}
    html = mounts["/usr/share/nginx/html"]
    assert (html.type, html.source, html.read_only) == ("bind", "./dev-html", False)
    assert lw.at(html.location, override, "- type: bind")
    assert lw.at(mounts["/var/log/nginx"].location, base, "logs:/var/log/nginx")
    # A new key points at the override; an empty key there changes nothing.
    assert web.flag("privileged") is True
    assert lw.at(web.loc("privileged"), override, "privileged")
    assert web.flag("read_only") is True
    assert lw.at(web.loc("read_only"), base, "read_only")
    # Untouched values and the service itself stay in the base file.
    assert lw.at(web.loc("image"), base, "image: nginx")
    assert lw.at(web.location, base, "web:")
    assert lw.at(loaded.service("db").location, base, "db:")
    assert loaded.codes("error") == []


def test_file_stack_merges_in_order(lw):
    root = lw.tree({
        "a.yml": "services:\n  app:\n    image: app:1\n    user: '1000'\n",
        "b.yml": "services:\n  app:\n    image: app:2\n    ports: ['8080:80']\n",
        "c.yml": "services:\n  app:\n    image: app:3\n  extra:\n    image: x\n",
    })
    loaded = lw.load_files(root, "a.yml", "b.yml", "c.yml")
    app = loaded.service("app")
    assert app.image == "app:3"
    assert lw.at(app.loc("image"), root / "c.yml", "image: app:3")
    assert lw.at(app.loc("user"), root / "a.yml", "user:")
    assert lw.at(app.ports[0].location, root / "b.yml", "8080:80")
    assert sorted(loaded.project.services) == ["app", "extra"]

    reverse = lw.load_files(root, "c.yml", "b.yml", "a.yml").service("app")
    assert reverse.image == "app:1"


def test_a_file_of_the_stack_that_cannot_be_read_leaves_the_others(lw):
    root = lw.tree({"a.yml": "services:\n  app:\n    image: app:1\n"})
    loaded = lw.load_files(root, "a.yml", "missing.yml")
    assert loaded.service("app").image == "app:1"
    assert loaded.diag("unreadable").location.path.endswith("missing.yml")
    assert lw.load_files(root, "missing.yml").project is None


def test_reset_and_override_tags(lw):
    root = lw.tree({
        "compose.yaml": """
            services:
              app:
                image: app:1
                ports: ["8080:80", "9090:90"]
                cap_add: [SYS_ADMIN]
                environment: {A: "1", B: "2"}
                dns: [1.1.1.1]
                labels: {keep: "yes"}
              gone:
                image: gone
            """,
        "compose.override.yaml": """
            services:
              app:
                ports: !override ["127.0.0.1:8080:80"]
                cap_add: !reset []
                environment: !override {C: "3"}
                dns: !reset null
                user: !reset
                labels: {more: "x"}
              gone: !reset
            """,
    })
    loaded = lw.load(root)
    app = loaded.service("app")
    assert [p.spec for p in app.ports] == ["127.0.0.1:8080:80"]
    assert lw.at(app.ports[0].location, root / "compose.override.yaml", "127.0.0.1")
    assert "cap_add" not in app.raw and "dns" not in app.raw
    assert "user" not in app.raw  # nothing to reset: the tag leaves no value behind
    assert {k: v.value for k, v in app.environment.items()} == {"C": "3"}
    assert app.label("keep") == "yes" and app.label("more") == "x"
    assert sorted(loaded.project.services) == ["app"]


def test_reset_in_a_single_file_leaves_nothing(lw):
    root = lw.tree({"compose.yaml": """
        services:
          app:
            image: app
            privileged: !reset true
        """})
    assert "privileged" not in lw.load(root).service("app").raw


def test_labels_and_sysctls_merge_by_key_across_forms(lw):
    root = lw.tree({
        "compose.yaml": """
            services:
              app:
                image: app
                labels: ["a=1", "b=2"]
                sysctls: {net.core.somaxconn: 1024}
                extra_hosts: ["db:10.0.0.2"]
            """,
        "compose.override.yaml": """
            services:
              app:
                labels: {b: "3"}
                sysctls: ["net.ipv4.ip_forward=1"]
                extra_hosts: {cache: 10.0.0.3}
            """,
    })
    app = lw.load(root).service("app")
    assert (app.label("a"), app.label("b")) == ("1", "3")
    assert set(app.raw["sysctls"]) == {"net.core.somaxconn", "net.ipv4.ip_forward"}
    assert set(app.raw["extra_hosts"]) == {"db", "cache"}


def test_healthcheck_test_and_entrypoint_are_replaced(lw):
    root = lw.tree({
        "compose.yaml": """
            services:
              app:
                image: app
                entrypoint: ["/init", "--verbose"]
                healthcheck:
                  test: ["CMD", "curl", "-f", "http://localhost"]
                  interval: 30s
            """,
        "compose.override.yaml": """
            services:
              app:
                entrypoint: ["/start"]
                healthcheck:
                  test: ["CMD", "true"]
            """,
    })
    app = lw.load(root).service("app")
    assert app.get("entrypoint") == ["/start"]
    assert app.path("healthcheck", "test") == ["CMD", "true"]
    assert app.path("healthcheck", "interval") == "30s"


def test_multiple_documents_in_one_file_merge(lw):
    root = lw.tree({"compose.yaml": """
        services:
          app:
            image: app:1
        ---
        services:
          app:
            read_only: true
        """})
    app = lw.load(root).service("app")
    assert app.image == "app:1" and app.flag("read_only") is True


def test_secrets_and_devices_merge_by_key(lw):
    root = lw.tree({
        "compose.yaml": """
            services:
              app:
                image: app
                secrets: [db_password, api_key]
                devices: ["/dev/ttyUSB0:/dev/ttyUSB0"]
            """,
        "compose.override.yaml": """
            services:
              app:
                secrets:
                  - source: db_password
                    target: /run/secrets/db
                devices: ["/dev/ttyACM0:/dev/ttyUSB0"]
            """,
    })
    app = lw.load(root).service("app")
    assert len(app.raw["secrets"]) == 2
    assert app.raw["secrets"][0]["target"] == "/run/secrets/db"
    assert app.raw["devices"] == ["/dev/ttyACM0:/dev/ttyUSB0"]


def test_written_text_survives_list_form_and_merging(lw):
    # Rules tell a ${VARIABLE} from a literal by what was written: normalising a list to a
    # mapping, or merging an override, must not lose it.
    root = lw.tree({
        "compose.yaml": """
            services:
              app:
                image: ${IMAGE:-app:1}
                environment:
                  - DB_PASSWORD=${DB_PASSWORD}
                  - API_URL=https://${HOST:-localhost}/api
                  - LITERAL=abc
                  - REPLACED=${OLD:-x}
                ports: ["${PORT:-8080}:80"]
                volumes: ["${DATA:-./data}:/data"]
            """,
        "compose.override.yaml": """
            services:
              app:
                environment:
                  REPLACED: now-literal
                  ADDED: ${ADDED:-y}
                ports: ["127.0.0.1:${ADMIN_PORT:-9000}:9000"]
                volumes: ["/srv/data:/data"]
            """,
        ".env": "DB_PASSWORD=hunter2hunter2\n",
    })
    app = lw.load(root).service("app")
    env = app.environment
    assert env["DB_PASSWORD"].value == "hunter2hunter2"
    assert env["DB_PASSWORD"].written == "${DB_PASSWORD}" and env["DB_PASSWORD"].from_variable
    assert env["API_URL"].written == "https://${HOST:-localhost}/api"
    assert env["LITERAL"].written is None and not env["LITERAL"].from_variable
    assert not env["REPLACED"].from_variable  # the override replaced it with a literal
    assert env["ADDED"].from_variable
    assert app.raw.written == {"image": "${IMAGE:-app:1}"}
    ports = app.raw["ports"]
    assert list(ports) == ["8080:80", "127.0.0.1:9000:9000"]
    assert ports.written == {0: "${PORT:-8080}:80", 1: "127.0.0.1:${ADMIN_PORT:-9000}:9000"}
    volumes = app.raw["volumes"]
    assert list(volumes) == ["/srv/data:/data"] and not volumes.written


def test_written_text_survives_extends(lw):
    root = lw.tree({"compose.yaml": """
        services:
          base:
            image: app
            environment:
              - TOKEN=${TOKEN}
          child:
            extends: base
            environment:
              - SECRET=${SECRET:-x}
        """})
    env = lw.load(root).service("child").environment
    assert env["TOKEN"].from_variable and env["SECRET"].from_variable
