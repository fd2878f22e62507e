"""`extends` and `include`: resolved as Compose does, every value keeping its own file:line.

Include tests load the main file explicitly: discovery alone would also find the included
sub-directories' compose.yaml files as projects of their own.
"""

from __future__ import annotations

import os


def test_extends_in_the_same_file(lw):
    root = lw.tree({"compose.yaml": """
        services:
          base:
            image: app:1
            cap_drop: [ALL]
            environment:
              - LEVEL=info
          web:
            extends: base
            environment:
              LEVEL: debug
            ports: ["8080:80"]
        """})
    loaded = lw.load(root)
    web = loaded.service("web")
    compose = root / "compose.yaml"
    assert "extends" not in web.raw
    assert web.image == "app:1"
    assert lw.at(web.loc("image"), compose, "image: app:1")
    assert web.environment["LEVEL"].value == "debug"
    assert lw.at(web.environment["LEVEL"].location, compose, "LEVEL: debug")
    assert lw.at(web.location, compose, "web:")
    assert loaded.codes("error") == []


def test_extends_from_another_file_and_chained(lw):
    root = lw.tree({
        "compose.yaml": """
            services:
              app:
                extends:
                  file: common/base.yml
                  service: hardened
                image: app:${TAG:-2}
            """,
        "common/base.yml": """
            services:
              minimal:
                read_only: true
                env_file: defaults.env
              hardened:
                extends: minimal
                cap_drop: [ALL]
                security_opt: ["no-new-privileges:true"]
            """,
        "common/defaults.env": "TZ=UTC\n",
    })
    loaded = lw.load(root)
    app = loaded.service("app")
    base = root / "common" / "base.yml"
    assert app.image == "app:2"
    assert app.flag("read_only") is True
    assert lw.at(app.loc("read_only"), base, "read_only")
    assert lw.at(app.loc("cap_drop"), base, "cap_drop")
    assert lw.at(app.loc("image"), root / "compose.yaml", "image:")
    # The extended file's relative env_file resolves next to that file.
    assert app.environment["TZ"].value == "UTC"
    assert lw.at(app.environment["TZ"].location, root / "common" / "defaults.env", "TZ")
    assert loaded.codes("gap") == [] and loaded.codes("error") == []


def test_extends_cycle_is_an_error(lw):
    root = lw.tree({"compose.yaml": """
        services:
          a:
            image: a
            extends: b
          b:
            image: b
            extends: a
          self:
            image: s
            extends: self
          fine:
            image: f
        """})
    loaded = lw.load(root)
    cycles = [d for d in loaded.diagnostics if d.code == "extends-cycle"]
    assert cycles and all(d.level == "error" for d in cycles)
    assert {d.location.line for d in cycles} <= {
        lw.line_of(root / "compose.yaml", "extends: b"),
        lw.line_of(root / "compose.yaml", "extends: a"),
        lw.line_of(root / "compose.yaml", "extends: self")}
    assert loaded.service("fine").image == "f"
    assert loaded.service("a").image == "a"  # still audited as written


def test_extends_missing_service_or_file(lw):
    root = lw.tree({"compose.yaml": """
        services:
          a:
            image: a
            extends: nowhere
          b:
            image: b
            extends:
              file: missing.yml
              service: x
          c:
            image: c
            extends:
              service: 5
        """})
    loaded = lw.load(root)
    missing = [d for d in loaded.diagnostics if d.code == "extends-missing"]
    compose = root / "compose.yaml"
    assert [d.location.line for d in missing] == [
        lw.line_of(compose, "extends: nowhere"),
        lw.line_of(compose, "file: missing.yml") - 1]  # b's `extends:` line
    assert all(d.level == "error" for d in missing)
    assert loaded.diag("bad-extends").level == "error"
    assert sorted(loaded.project.services) == ["a", "b", "c"]


def test_include_short_and_long_form(lw):
    root = lw.tree({
        "compose.yaml": """
            include:
              - monitoring/compose.yaml
              - path:
                  - db/compose.yaml
                  - db/compose.tuning.yaml
                env_file: db/db.env
            services:
              web:
                image: web:${WEB_TAG:-1}
            """,
        "monitoring/compose.yaml": """
            services:
              grafana:
                image: grafana/grafana:${GRAFANA_TAG}
                env_file: grafana.env
            volumes:
              grafana-data: {}
            """,
        "monitoring/.env": "GRAFANA_TAG=11.1\n",
        "monitoring/grafana.env": "GF_SECURITY_ADMIN_USER=admin\n",
        "db/compose.yaml": """
            services:
              db:
                image: postgres:${PG_TAG}
            """,
        "db/compose.tuning.yaml": """
            services:
              db:
                shm_size: 1g
            """,
        "db/db.env": "PG_TAG=16\n",
    })
    loaded = lw.load_files(root, "compose.yaml")
    assert sorted(loaded.project.services) == ["db", "grafana", "web"]
    grafana = loaded.service("grafana")
    # The included project reads its own .env, and its relative paths resolve in its dir.
    assert grafana.image == "grafana/grafana:11.1"
    assert grafana.environment["GF_SECURITY_ADMIN_USER"].value == "admin"
    assert lw.at(grafana.location, root / "monitoring" / "compose.yaml", "grafana:")
    db = loaded.service("db")
    assert db.image == "postgres:16"
    assert db.get("shm_size") == "1g"  # the entry's files merge like a -f stack
    assert lw.at(db.loc("shm_size"), root / "db" / "compose.tuning.yaml", "shm_size")
    assert "grafana-data" in loaded.project.section("volumes")
    assert "include" not in loaded.project.raw
    assert loaded.codes("error") == [] and loaded.codes("gap") == []
    # The included project's .env is a fact too (its permissions are checked like any .env).
    assert str(root / "monitoring" / ".env") in loaded.project.env_files


def test_including_project_variables_win(lw):
    root = lw.tree({
        "compose.yaml": "include: [sub/compose.yaml]\n",
        ".env": "TAG=parent\n",
        "sub/compose.yaml": "services:\n  s:\n    image: s:${TAG}\n",
        "sub/.env": "TAG=child\n",
    })
    assert lw.load_files(root, "compose.yaml").service("s").image == "s:parent"


def test_include_missing_cycle_and_conflict(lw):
    root = lw.tree({
        "compose.yaml": """
            include:
              - missing.yaml
              - loop/compose.yaml
              - other/compose.yaml
              - same/compose.yaml
            services:
              web:
                image: web
            volumes:
              shared: {}
            """,
        "loop/compose.yaml": """
            include: [../compose.yaml]
            services:
              looper:
                image: l
            """,
        "other/compose.yaml": """
            services:
              web:
                image: other-web
              worker:
                image: worker
            """,
        "same/compose.yaml": "volumes:\n  shared: {}\n",
    })
    loaded = lw.load_files(root, "compose.yaml")
    compose = root / "compose.yaml"
    missing = loaded.diag("include-missing")
    assert missing.level == "error" and lw.at(missing.location, compose, "missing.yaml")
    cycle = loaded.diag("include-cycle")
    assert cycle.level == "error"
    assert lw.at(cycle.location, root / "loop" / "compose.yaml", "include:")
    conflict = loaded.diag("include-conflict")
    assert conflict.level == "error" and "services.web" in conflict.message
    assert lw.at(conflict.location, compose, "other/compose.yaml")
    # An identical definition is no conflict (compose-go compares them).
    assert [d for d in loaded.diagnostics if d.code == "include-conflict"] == [conflict]
    services = loaded.project.services
    assert services["web"].image == "web"  # the including project's own definition
    assert sorted(services) == ["looper", "web", "worker"]


def test_anchors_and_merge_keys_point_at_the_anchor(lw):
    root = lw.tree({"compose.yaml": """
        x-hardening: &hardening
          read_only: true
          cap_drop: [ALL]
          security_opt:
            - no-new-privileges:true
        x-logging: &logging
          logging:
            driver: json-file
        services:
          app:
            <<: [*hardening, *logging]
            image: app
            read_only: false
          worker:
            <<: *hardening
            image: worker
            environment: &env
              TZ: UTC
          cron:
            image: cron
            environment: *env
        """})
    loaded = lw.load(root)
    compose = root / "compose.yaml"
    app, worker, cron = (loaded.service(n) for n in ("app", "worker", "cron"))
    assert app.flag("read_only") is False  # an explicit key wins over a merged one
    assert lw.at(app.loc("read_only"), compose, "read_only: false")
    assert app.get("cap_drop") == ["ALL"]
    assert lw.at(app.loc("cap_drop"), compose, "cap_drop: [ALL]")
    assert lw.at(app.loc("logging", "driver"), compose, "driver: json-file")
    assert worker.flag("read_only") is True
    assert lw.at(worker.loc("read_only"), compose, "read_only: true")
    assert lw.at(worker.loc("security_opt", 0), compose, "no-new-privileges")
    assert cron.environment["TZ"].value == "UTC"
    assert lw.at(cron.environment["TZ"].location, compose, "TZ: UTC")
    assert loaded.codes("error") == [] and loaded.codes("warning") == []


def test_aliased_values_are_independent_copies(lw):
    # Interpolation rewrites values in place: an alias must not see its anchor rewritten
    # twice (`$$` would lose a second dollar).
    root = lw.tree({"compose.yaml": """
        x-cmd: &cmd ["sh", "-c", "echo $$HOME"]
        services:
          a:
            image: a
            command: *cmd
          b:
            image: b
            command: *cmd
        """})
    loaded = lw.load(root)
    assert loaded.service("a").get("command")[2] == "echo $HOME"
    assert loaded.service("b").get("command")[2] == "echo $HOME"


def test_profiles(lw):
    root = lw.tree({"compose.yaml": """
        services:
          always:
            image: a
          debug:
            image: d
            profiles: [debug]
          tools:
            image: t
            profiles: ["tools", "debug"]
          other:
            image: o
            profiles: [other]
        """})
    # By default every service is audited: a profile can be switched on at any time.
    assert sorted(lw.load(root).project.services) == ["always", "debug", "other", "tools"]
    assert sorted(lw.load(root, profiles=("debug",)).project.services) == [
        "always", "debug", "tools"]
    assert sorted(lw.load(root, profiles=()).project.services) == ["always"]
    assert lw.load(root).service("tools").profiles == ("tools", "debug")


def test_included_env_file_missing_is_an_error(lw):
    root = lw.tree({
        "compose.yaml": "include:\n  - path: sub/compose.yaml\n    env_file: sub/nope.env\n",
        "sub/compose.yaml": "services:\n  s:\n    image: s\n",
    })
    loaded = lw.load_files(root, "compose.yaml")
    assert loaded.diag("include-env-missing").level == "error"
    assert os.path.basename(loaded.service("s").location.path) == "compose.yaml"


def test_extends_depth_limit_is_not_called_a_cycle(lw):
    from labwarden.sources.compose.loader import MAX_EXTENDS_DEPTH

    chain = MAX_EXTENDS_DEPTH + 5  # s0 extends s1 … extends s(chain): no loop, only long
    services = "".join(f"  s{i}:\n    image: i{i}\n    extends: s{i + 1}\n"
                       for i in range(chain))
    root = lw.tree({"compose.yaml": f"services:\n{services}  s{chain}:\n    image: last\n"
                                    "    privileged: true\n"})
    loaded = lw.load(root)
    assert "extends-cycle" not in loaded.codes()
    deep = [d for d in loaded.diagnostics if d.code == "extends-too-deep"]
    assert deep and all(d.level == "error" for d in deep)
    assert f"deeper than {MAX_EXTENDS_DEPTH} levels" in deep[0].message
    assert "loops" not in deep[0].message
    # A chain within the limit is followed to its end.
    assert loaded.service(f"s{chain - MAX_EXTENDS_DEPTH}").raw.get("privileged") is True


def test_include_depth_limit_is_not_called_a_cycle(lw):
    from labwarden.sources.compose.loader import MAX_INCLUDE_DEPTH

    files = {f"c{i}.yaml": f"include:\n  - c{i + 1}.yaml\nservices:\n  s{i}:\n    image: i{i}\n"
             for i in range(MAX_INCLUDE_DEPTH + 3)}
    root = lw.tree(files)
    loaded = lw.load_files(root, "c0.yaml")
    assert "include-cycle" not in loaded.codes()
    deep = loaded.diag("include-too-deep")
    assert deep.level == "error" and f"deeper than {MAX_INCLUDE_DEPTH} levels" in deep.message
    assert "s1" in loaded.project.services
