"""Short and long syntax of service keys, YAML 1.2 scalars, unknown and duplicate keys."""

from __future__ import annotations

import pytest

from labwarden.model import Location
from labwarden.sources.compose.model import parse_mount, parse_port
from labwarden.sources.yamlfile import Map, parse_yaml

HERE = Location("compose.yaml", 1)


@pytest.mark.parametrize("spec, host_ip, published, target, protocol", [
    ("80", None, None, "80", "tcp"),                      # container port only: ephemeral
    ("8080:80", None, "8080", "80", "tcp"),
    ("127.0.0.1:8080:80", "127.0.0.1", "8080", "80", "tcp"),
    ("0.0.0.0:53:53/udp", "0.0.0.0", "53", "53", "udp"),
    ("[::1]:8080:80", "::1", "8080", "80", "tcp"),
    ("[::]:443:443/tcp", "::", "443", "443", "tcp"),
    ("::1:5432:5432", "::1", "5432", "5432", "tcp"),      # unbracketed IPv6
    ("127.0.0.1::80", "127.0.0.1", None, "80", "tcp"),    # ephemeral on loopback
    ("[::1]::80", "::1", None, "80", "tcp"),
    ("3000-3005", None, None, "3000-3005", "tcp"),
    ("9000-9002:9000-9002/udp", None, "9000-9002", "9000-9002", "udp"),
    ("6060:6060/sctp", None, "6060", "6060", "sctp"),
])
def test_short_port_syntax(spec, host_ip, published, target, protocol):
    port = parse_port(spec, HERE)
    assert (port.host_ip, port.published, port.target, port.protocol) == (
        host_ip, published, target, protocol)


def test_port_ranges_and_interfaces():
    port = parse_port("127.0.0.1:8000-8002:9000-9002", HERE)
    assert port.published_ports == [8000, 8001, 8002]
    assert port.target_ports == [9000, 9001, 9002]
    assert port.on_loopback and not port.on_all_interfaces
    assert parse_port("8080:80", HERE).on_all_interfaces
    assert parse_port("[::1]:8080:80", HERE).on_loopback
    assert parse_port("80", HERE).published_ports == []


def test_long_port_syntax(lw):
    root = lw.tree({"compose.yaml": """
        services:
          app:
            image: app
            ports:
              - target: 80
                published: "8080"
                host_ip: 127.0.0.1
                protocol: tcp
                mode: host
              - target: 53
                published: 5353
                protocol: udp
              - target: 9000
              - 22:22
        """})
    loaded = lw.load(root)
    ports = loaded.service("app").ports
    assert [(p.host_ip, p.published, p.target, p.protocol) for p in ports] == [
        ("127.0.0.1", "8080", "80", "tcp"), (None, "5353", "53", "udp"),
        (None, None, "9000", "tcp"), (None, "22", "22", "tcp")]
    compose = root / "compose.yaml"
    assert lw.at(ports[0].location, compose, "- target: 80")
    assert lw.at(ports[3].location, compose, "22:22")
    assert ports[3].spec == "22:22"  # YAML 1.2: not the base-60 number 1342


@pytest.mark.parametrize("spec, kind, source, target, read_only, propagation", [
    ("/etc:/host/etc:ro,z", "bind", "/etc", "/host/etc", True, None),
    ("/mnt/media:/media:rshared", "bind", "/mnt/media", "/media", False, "rshared"),
    ("/mnt:/mnt:ro,rslave", "bind", "/mnt", "/mnt", True, "rslave"),
    ("./data:/data", "bind", "./data", "/data", False, None),
    ("../shared:/shared:rw", "bind", "../shared", "/shared", False, None),
    ("~/.ssh:/root/.ssh:ro", "bind", "~/.ssh", "/root/.ssh", True, None),
    ("/var/run/docker.sock:/var/run/docker.sock", "bind", "/var/run/docker.sock",
     "/var/run/docker.sock", False, None),
    ("db-data:/var/lib/postgresql/data", "volume", "db-data", "/var/lib/postgresql/data",
     False, None),
    ("cache:/cache:nocopy", "volume", "cache", "/cache", False, None),
    ("/anonymous", "volume", None, "/anonymous", False, None),
    ("C:\\data:/data", "bind", "C:\\data", "/data", False, None),
])
def test_short_volume_syntax(spec, kind, source, target, read_only, propagation):
    mount = parse_mount(spec, HERE)
    assert (mount.type, mount.source, mount.target, mount.read_only, mount.propagation) == (
        kind, source, target, read_only, propagation)


def test_host_path_is_normalised():
    assert parse_mount("/var/run/../../run//docker.sock:/s", HERE).host_path == \
        "/run/docker.sock"
    assert parse_mount("data:/d", HERE).host_path is None


def test_long_volume_and_tmpfs_syntax(lw):
    root = lw.tree({"compose.yaml": """
        services:
          app:
            image: app
            volumes:
              - type: bind
                source: /
                target: /host
                read_only: true
                bind:
                  propagation: rslave
              - type: volume
                source: data
                target: /data
                read_only: "false"
                volume:
                  nocopy: true
              - type: tmpfs
                target: /tmp
                tmpfs:
                  size: 64m
            tmpfs:
              - /run:size=10m
        """})
    mounts = lw.load(root).service("app").mounts
    assert [(m.type, m.source, m.target, m.read_only, m.propagation) for m in mounts] == [
        ("bind", "/", "/host", True, "rslave"),
        ("volume", "data", "/data", False, None),
        ("tmpfs", None, "/tmp", False, None),
        ("tmpfs", None, "/run", False, None)]
    compose = root / "compose.yaml"
    assert lw.at(mounts[0].location, compose, "- type: bind")
    assert lw.at(mounts[3].location, compose, "/run:size")


def test_environment_list_and_map(lw):
    root = lw.tree({"compose.yaml": """
        services:
          listed:
            image: a
            environment:
              - PLAIN=value
              - EMPTY=
              - PASSTHROUGH
              - WITH_EQUALS=a=b
          mapped:
            image: b
            environment:
              BOOL: true
              NUMBER: 5432
              NULL_VALUE:
              QUOTED: "yes"
        """})
    loaded = lw.load(root)
    listed = {k: v.value for k, v in loaded.service("listed").environment.items()}
    assert listed == {"PLAIN": "value", "EMPTY": "", "PASSTHROUGH": None, "WITH_EQUALS": "a=b"}
    mapped = {k: v.value for k, v in loaded.service("mapped").environment.items()}
    assert mapped == {"BOOL": "true", "NUMBER": "5432", "NULL_VALUE": None, "QUOTED": "yes"}
    compose = root / "compose.yaml"
    assert lw.at(loaded.service("listed").environment["EMPTY"].location, compose, "EMPTY=")
    assert lw.at(loaded.service("mapped").environment["NUMBER"].location, compose, "NUMBER")


def test_env_file_forms(lw):
    root = lw.tree({
        "compose.yaml": """
            services:
              single:
                image: a
                env_file: app.env
              listed:
                image: b
                env_file: [app.env, extra.env]
                environment:
                  SHARED: from-environment
              long:
                image: c
                env_file:
                  - path: app.env
                    required: true
                  - path: optional.env
                    required: false
              missing:
                image: d
                env_file: nope.env
            """,
        "app.env": "APP_KEY=abc\nSHARED=from-file\n",
        "extra.env": "EXTRA=1\n",
    })
    loaded = lw.load(root)
    single = loaded.service("single")
    assert single.environment["APP_KEY"].origin == "env_file"
    assert lw.at(single.environment["APP_KEY"].location, root / "app.env", "APP_KEY")
    listed = loaded.service("listed")
    assert listed.environment["EXTRA"].value == "1"
    assert listed.environment["SHARED"].value == "from-environment"  # environment wins
    assert set(loaded.service("long").environment) == {"APP_KEY", "SHARED"}
    # A missing optional file is fine; a missing required one is a gap at its line.
    gaps = [d for d in loaded.diagnostics if d.code == "env-file-missing"]
    assert len(gaps) == 1 and gaps[0].level == "gap"
    assert lw.at(gaps[0].location, root / "compose.yaml", "env_file: nope.env")
    assert set(loaded.project.env_files) == {str(root / "app.env"), str(root / "extra.env")}


def test_legacy_v1_file(lw):
    root = lw.tree({"docker-compose.yml": """
        web:
          image: nginx
          links: [db]
          net: host
        db:
          image: postgres:9
        """})
    loaded = lw.load(root)
    assert loaded.project.legacy
    assert sorted(loaded.project.services) == ["db", "web"]
    assert lw.at(loaded.service("web").location, root / "docker-compose.yml", "web:")
    assert loaded.project.unknown_keys == []  # `net` is a v1 key
    assert "__legacy__" not in loaded.project.raw


@pytest.mark.parametrize("text, value", [
    ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"), ("y", "y"),
    ("true", True), ("True", True), ("TRUE", True), ("false", False), ("False", False),
    ("22:22", "22:22"), ("1:30", "1:30"),
    ("0o17", 15), ("0x1f", 31), ("0755", 493), ("-0755", -493), ("089", 89.0),
    ("42", 42), ("9000", 9000), ("-7", -7), ("+10", 10), ("0", 0), ("3.10", 3.1),
    ("1e3", 1000.0), (".inf", float("inf")), ("!!float 1", 1.0), ("!!int true", "true"),
    ("~", None), ("null", None), ("", None), ("'yes'", "yes"), ('"0755"', "0755"),
    ("!!str 42", "42"), ("!!int 42", 42), ("nginx:1.27", "nginx:1.27"),
])
def test_yaml_1_2_scalars(text, value):
    (document,), problems = parse_yaml(f"key: {text}\n", "x.yaml")
    assert document["key"] == value and type(document["key"]) is type(value)
    assert problems == []


def test_unknown_and_misspelled_keys(lw):
    root = lw.tree({"compose.yaml": """
        servics_typo_top: {}
        x-extension: {anything: goes}
        services:
          app:
            image: app
            network-mode: host
            read-only: true
            x-custom: fine
            deploy:
              resources:
                limit:
                  memory: 512m
            logging:
              drivr: json-file
        """})
    loaded = lw.load(root)
    unknown = {(u.key, u.where): u for u in loaded.project.unknown_keys}
    assert unknown[("network-mode", "service app")].suggestion == "network_mode"
    assert unknown[("read-only", "service app")].suggestion == "read_only"
    assert unknown[("limit", "service app: deploy.resources")].suggestion == "limits"
    assert unknown[("drivr", "service app: logging")].suggestion == "driver"
    assert ("servics_typo_top", "top level") in unknown
    assert not any(key.startswith("x-") for key, _ in unknown)
    compose = root / "compose.yaml"
    assert lw.at(unknown[("network-mode", "service app")].location, compose, "network-mode")


def test_duplicate_key_is_an_error_with_its_line(lw):
    root = lw.tree({"compose.yaml": """
        services:
          app:
            image: app:1
            privileged: false
            privileged: true
        """})
    loaded = lw.load(root)
    error = loaded.diag("duplicate-key")
    assert error.level == "error"
    assert error.location.line == 5
    assert loaded.service("app").flag("privileged") is True  # the last one, as audited


def test_locations_of_nested_keys(lw):
    root = lw.tree({"compose.yaml": """
        services:
          app:
            image: app
            deploy:
              resources:
                limits:
                  memory: 512m
            security_opt:
              - no-new-privileges:true
              - apparmor:docker-default
        """})
    app = lw.load(root).service("app")
    compose = root / "compose.yaml"
    assert lw.at(app.loc("deploy", "resources", "limits", "memory"), compose, "memory")
    assert lw.at(app.loc("security_opt", 1), compose, "apparmor")
    # A missing key falls back to its nearest parent.
    assert lw.at(app.loc("deploy", "resources", "reservations"), compose, "resources:")
    assert app.items("security_opt")[0] == ("no-new-privileges:true",
                                            app.loc("security_opt", 0))


def test_complex_keys_and_bad_merges_are_warnings():
    (document,), problems = parse_yaml("? [a, b]\n: 1\nok: 2\nm:\n  <<: [1, 2]\n", "x.yaml")
    assert document["ok"] == 2 and isinstance(document["m"], Map)
    assert [code for code, _, _ in problems] == ["complex-key", "bad-merge", "bad-merge"]
