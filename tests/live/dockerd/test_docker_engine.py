"""The Docker source against a real dockerd (see conftest.py): the Engine API over its unix
socket, `docker` over the local and SSH transports, a snapshot, the audit and the checklist.

The lab: a Compose project `shop` (web and worker) whose containers were started by hand
with Compose's labels, as `docker compose up` labels them:
  * shop-web-1 runs with another port (8081 instead of 8080) and another, writable mount
    (instead of ./html read-only) than its file says, and a secret-named variable the file
    does not set: drift;
  * shop-worker-1 was started and stopped: a service that is not running;
  * handmade runs with no Compose labels: started outside Compose;
  * priv-tool is privileged (created, not started).
Environment values planted in the containers and the image must never appear in any output.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from labwarden.sources.docker.address import engine_url
from labwarden.sources.docker.fact import Container, DockerEngine
from labwarden.sources.live.collect import ProbeOptions
from labwarden.sources.live.targets import parse_target

from .conftest import IMAGE, IMAGE_VALUE

SECRET_VALUE = "lw-canary-secret-4b7e9d"       # SECRET_API_TOKEN in shop-web-1
MODE_VALUE = "app-mode-value-83f2"             # APP_MODE, the file's own variable
VALUES = (SECRET_VALUE, MODE_VALUE, IMAGE_VALUE)

COMPOSE = f"""\
services:
  web:
    image: {IMAGE}
    ports: ["127.0.0.1:8080:80"]
    volumes: ["./html:/srv/html:ro"]
    environment:
      APP_MODE: {MODE_VALUE}
  worker:
    image: {IMAGE}
    restart: unless-stopped
    environment: [QUEUE=jobs]
"""


def _labels(project: str, service: str, directory: str) -> list[str]:
    labels = {"com.docker.compose.project": project, "com.docker.compose.service": service,
              "com.docker.compose.project.working_dir": directory,
              "com.docker.compose.project.config_files": f"{directory}/compose.yaml",
              "com.docker.compose.container-number": "1", "com.docker.compose.oneoff": "False"}
    return [arg for key, value in labels.items() for arg in ("--label", f"{key}={value}")]


@pytest.fixture(scope="module")
def lab(engine, tmp_path_factory):
    root = tmp_path_factory.mktemp("docker-lab")
    shop = root / "shop"
    (shop / "html").mkdir(parents=True)
    (shop / "compose.yaml").write_text(COMPOSE)
    elsewhere = root / "scratch"
    elsewhere.mkdir()
    engine.cli("run", "-d", "--name", "shop-web-1", "--network", "none",
               *_labels("shop", "web", str(shop)), "-p", "127.0.0.1:8081:80",
               "-v", f"{elsewhere}:/srv/html", "-e", f"APP_MODE={MODE_VALUE}",
               "-e", f"SECRET_API_TOKEN={SECRET_VALUE}", "--health-cmd", "true",
               "--restart", "unless-stopped", IMAGE)
    engine.cli("run", "-d", "--name", "shop-worker-1", "--network", "none",
               *_labels("shop", "worker", str(shop)), "-e", "QUEUE=jobs",
               "--restart", "unless-stopped", IMAGE)
    engine.cli("stop", "-t", "0", "shop-worker-1")
    engine.cli("run", "-d", "--name", "handmade", "--network", "none", IMAGE)
    engine.cli("create", "--name", "priv-tool", "--network", "none", "--privileged", IMAGE)
    yield root
    engine.cli("rm", "-f", "shop-web-1", "shop-worker-1", "handmade", "priv-tool",
               check=False)


def _probe(text: str, **options) -> list:
    from labwarden.sources.live.docker import probe

    return asyncio.run(probe(parse_target(text), ProbeOptions(**options)))


def _containers(facts: list) -> dict[str, Container]:
    return {f.name: f for f in facts if isinstance(f, Container)}


def _no_values(text: str) -> None:
    for value in VALUES:
        assert value not in text, f"an environment value reached the output: {value}"


# -- the Engine API ----------------------------------------------------------------------

def test_the_api_reads_every_container_as_the_engine_runs_it(engine, lab):
    facts = _probe(engine.url)
    engines = [f for f in facts if isinstance(f, DockerEngine)]
    assert len(engines) == 1 and engines[0].error is None
    assert engines[0].version                      # /info answered
    found = _containers(facts)
    assert set(found) == {"shop-web-1", "shop-worker-1", "handmade", "priv-tool"}
    web = found["shop-web-1"]
    assert (web.project, web.service, web.working_dir) == ("shop", "web", str(lab / "shop"))
    assert web.state == "running" and web.healthcheck == "CMD-SHELL"
    assert [(b.host_ip, b.host_port, b.port) for b in web.port_bindings] == \
        [("127.0.0.1", 8081, 80)]
    assert [(m.source, m.destination, m.read_only) for m in web.binds] == \
        [(str(lab / "scratch"), "/srv/html", False)]
    assert {"SECRET_API_TOKEN", "APP_MODE", "IMAGE_SETTING"} <= set(web.env_keys)
    assert web.image_env_keys == ("IMAGE_SETTING",)
    assert web.image == IMAGE and web.image_tags == (IMAGE,)
    assert found["shop-worker-1"].state == "exited"
    assert found["priv-tool"].privileged and found["priv-tool"].state == "created"
    assert found["handmade"].project is None
    _no_values(repr(facts))


def test_docker_host_names_the_engine_like_the_docker_cli(engine):
    assert engine_url("docker:", {"DOCKER_HOST": f"unix://{engine.socket}"}) == \
        f"unix://{engine.socket}"
    assert engine_url("docker://", {}) == "unix:///var/run/docker.sock"
    assert engine_url("docker:", {"DOCKER_HOST": "tcp://127.0.0.1"}) == "tcp://127.0.0.1:2375"
    with pytest.raises(ValueError, match="ssh"):
        engine_url("docker:", {"DOCKER_HOST": "ssh://admin@host"})


def test_a_dead_socket_is_a_diagnostic_not_a_traceback(tmp_path):
    path = tmp_path / "dead.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))                          # bound, never listening: refused
    try:
        facts = _probe(f"docker+unix://{path}", timeout=2)
    finally:
        server.close()
    assert len(facts) == 1 and isinstance(facts[0], DockerEngine)
    assert facts[0].error and "cannot connect" in facts[0].error
    assert [d.level for d in facts[0].diagnostics] == ["error"]
    assert not facts[0].belongs_to(object())       # it shows nothing of any service


def test_an_engine_that_never_answers_is_bounded_by_the_timeout(tmp_path):
    path = tmp_path / "mute.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(8)
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])    # then says nothing
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        facts = _probe(f"docker+unix://{path}", timeout=0.5)
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        server.close()
    assert facts[0].error and "no answer within 0.5 s" in facts[0].error


# -- the host transports and the snapshot -----------------------------------------------

def _names_and_ids(facts: list) -> dict[str, str]:
    return {c.name: c.id for c in _containers(facts).values()}


def test_local_transport_runs_docker_inspect_and_reads_the_same(engine, lab, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{engine.socket}")
    monkeypatch.setenv("DOCKER_CONFIG", engine.env["DOCKER_CONFIG"])
    local = _probe("local://")
    assert [f.via for f in local if isinstance(f, DockerEngine)] == ["local"]
    assert _names_and_ids(local) == _names_and_ids(_probe(engine.url))
    assert _containers(local)["shop-web-1"].image_tags == (IMAGE,)   # images read too
    _no_values(repr(local))


def test_a_snapshot_reads_docker_inspect_output(engine, lab, tmp_path):
    ids = engine.cli("ps", "-aq", "--no-trunc").split()
    (tmp_path / "docker-inspect.json").write_text(engine.cli("inspect", *ids))
    images = sorted({json.loads(engine.cli("inspect", i))[0]["Image"] for i in ids})
    (tmp_path / "docker-image-inspect.json").write_text(engine.cli("image", "inspect",
                                                                    *images))
    assert SECRET_VALUE in (tmp_path / "docker-inspect.json").read_text()  # as saved
    facts = _probe(f"snapshot:{tmp_path}")
    assert _names_and_ids(facts) == _names_and_ids(_probe(engine.url))
    assert _containers(facts)["shop-web-1"].location.path.endswith("docker-inspect.json")
    _no_values(repr(facts))


def test_a_snapshot_without_docker_is_not_an_error(tmp_path):
    (tmp_path / "ss.txt").write_text("")        # a host snapshot, taken without Docker
    assert _probe(f"snapshot:{tmp_path}") == []


def test_a_snapshot_that_is_not_docker_inspect_is_a_diagnostic_at_the_file(tmp_path):
    (tmp_path / "docker-inspect.json").write_text("{not json")
    facts = _probe(f"snapshot:{tmp_path}")
    assert facts[0].error and facts[0].diagnostics[0].location.path.endswith(
        "docker-inspect.json")


# -- the audit ---------------------------------------------------------------------------

def _labwarden(*args: str, cwd: Path | None = None, env: dict | None = None):
    return subprocess.run([sys.executable, "-m", "labwarden", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120, env=env)


def test_the_audit_reports_drift_a_container_started_by_hand_and_a_stopped_service(
        engine, lab):
    done = _labwarden("audit", str(lab / "shop"), engine.url, "--format", "json",
                      "--no-config")
    assert done.returncode == 1, done.stderr
    _no_values(done.stdout + done.stderr)
    findings = json.loads(done.stdout)["findings"]
    by_rule: dict[str, list[dict]] = {}
    for finding in findings:
        by_rule.setdefault(finding["rule_id"], []).append(finding)
    started_by_hand = {f["asset"].rpartition("/")[2] for f in by_rule["DKR010"]}
    assert started_by_hand == {"handmade", "priv-tool"}
    drift = by_rule["DKR051"]
    assert len(drift) == 1
    message = drift[0]["message"]
    assert "shop-web-1" in message and "8081:80" in message and "127.0.0.1:8080:80" in message
    assert "/srv/html" in message and str(lab / "scratch") in message
    assert "SECRET_API_TOKEN" in message                 # the key, never its value
    assert drift[0]["location"]["path"].endswith("compose.yaml")
    stopped = by_rule["DKR050"]
    assert [f["asset"].split("/", 1)[1] for f in stopped] == ["shop/worker"]
    assert "exited" in stopped[0]["message"]
    assert {f["asset"].rpartition("/")[2] for f in by_rule["DKR001"]} == {"priv-tool"}
    secrets = by_rule["DKR012"]
    assert [f["asset"].rpartition("/")[2] for f in secrets] == ["shop-web-1"]


def test_no_environment_value_in_any_report(engine, lab):
    for fmt in ("terminal", "markdown", "sarif", "junit"):
        done = _labwarden("audit", str(lab / "shop"), engine.url, "--format", fmt,
                          "--no-config", "--no-color")
        assert done.returncode == 1, (fmt, done.stderr)
        assert "DKR051" in done.stdout, fmt
        _no_values(done.stdout + done.stderr)


# -- the SSH transport --------------------------------------------------------------------

@pytest.fixture(scope="module")
def sshd_for_docker(engine, tmp_path_factory):
    """An OpenSSH server whose sessions have DOCKER_HOST pointing at the test engine, as a
    remote Docker host's would at its own socket."""
    import contextlib
    import shutil
    import time

    from .conftest import need

    sshd = need("sshd", "openssh-server")
    keygen = need("ssh-keygen", "openssh-client")
    directory = str(tmp_path_factory.mktemp("sshd"))
    os.chmod(directory, 0o700)
    host_key, client_key = f"{directory}/host", f"{directory}/client"
    for path in (host_key, client_key):
        subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", path], check=True)
    shutil.copy(client_key + ".pub", f"{directory}/authorized_keys")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with open(f"{directory}/sshd_config", "w") as handle:
        handle.write(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\n"
                     f"PidFile {directory}/sshd.pid\nAuthorizedKeysFile {directory}/"
                     "authorized_keys\nPermitRootLogin prohibit-password\nPasswordAuthentication"
                     " no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
                     f"SetEnv DOCKER_HOST=unix://{engine.socket} DOCKER_CONFIG="
                     f"{engine.env['DOCKER_CONFIG']}\nLogLevel ERROR\n")
    os.makedirs("/run/sshd", exist_ok=True)
    process = subprocess.Popen([sshd, "-D", "-e", "-f", f"{directory}/sshd_config"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port),
                                                                       0.2):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"sshd did not start: {process.stdout.read()[-1000:]!r}",
                            pytrace=False)
            time.sleep(0.05)
        kind, blob = open(host_key + ".pub").read().split()[:2]
        with open(f"{directory}/known_hosts", "w") as handle:
            handle.write(f"[127.0.0.1]:{port} {kind} {blob}\n")
        yield port, client_key, f"{directory}/known_hosts"
    finally:
        process.terminate()
        process.wait(10)


def test_ssh_transport_runs_docker_on_the_remote_host(engine, lab, sshd_for_docker):
    port, key, known_hosts = sshd_for_docker
    facts = _probe(f"ssh://root@127.0.0.1:{port}", ssh_key=key, ssh_known_hosts=known_hosts)
    engines = [f for f in facts if isinstance(f, DockerEngine)]
    assert [(e.via, e.error) for e in engines] == [("ssh", None)]
    assert _names_and_ids(facts) == _names_and_ids(_probe(engine.url))
    _no_values(repr(facts))


# -- the checklist -----------------------------------------------------------------------

def test_the_checklist_gets_the_services_containers_through_its_hosts_engine(engine, lab):
    (lab / "labwarden.yaml").write_text(
        "services:\n"
        "  shop:\n"
        "    deployment_type: docker\n"
        "    compose: shop\n"
        "    host: dockerhost\n"
        "hosts:\n"
        f"  dockerhost: {{docker: \"{engine.url}\"}}\n")
    done = _labwarden("checklist", "shop", "--format", "json", cwd=lab)
    assert done.returncode in (0, 1), done.stderr
    _no_values(done.stdout + done.stderr)
    items = {i["id"]: i for i in json.loads(done.stdout)["items"]}
    # The worker is not running: the service did not start.
    assert items["9.1.1"]["status"] == "FAIL", items["9.1.1"]
    # Only the engine shows that no other container holds the services' names.
    assert items["4.5.3"]["status"] == "PASS", items["4.5.3"]
    assert "DKR052" in items["4.5.3"]["note"]
    # The secret-named key in shop-web-1's environment (by name: no value is read), which
    # the file does not show: the running container fails what the file alone would pass.
    assert items["2.1.2"]["status"] == "FAIL", items["2.1.2"]
    # handmade and priv-tool are nobody's: their findings reach no service.
    assert "priv-tool" not in done.stdout and "handmade" not in done.stdout
