"""A real Docker Engine for the Docker source's tests.

One dockerd per test session (Debian's docker.io), run as root with everything private: its
own data root, exec root (and so its own containerd), pid file, config file and a unix
socket under a temporary directory; no iptables rules and no bridge (`--iptables=false
--ip6tables=false --bridge=none`), so it leaves the machine's network alone. No registry is
reached: the one image is a busybox-static root filesystem `docker import`ed from a tarball.
Containers run with `--network none`; privileged ones are created, not started (this
machine's kernel refuses their capabilities, which `inspect` does not need).

If dockerd cannot start here, the fixture fails with its log: the tests are not skipped.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass

import pytest

IMAGE = "lw-busybox:1"
IMAGE_VALUE = "image-value-5d1c"          # the image's own ENV value: never to be shown


def need(binary: str, package: str) -> str:
    found = shutil.which(binary) or next(
        (p for p in (f"/usr/sbin/{binary}", f"/usr/bin/{binary}", f"/bin/{binary}")
         if os.path.exists(p)), None)
    if not found:
        pytest.fail(f"{binary} not found: install the Debian package {package} "
                    f"(apt-get install -y {package})", pytrace=False)
    return found


@dataclass
class Engine:
    socket: str
    directory: str
    docker: str                   # the docker CLI
    env: dict                     # the environment that points the CLI at this engine

    @property
    def url(self) -> str:
        return f"docker+unix://{self.socket}"

    def cli(self, *args: str, check: bool = True) -> str:
        done = subprocess.run([self.docker, *args], env=self.env, capture_output=True,
                              text=True, timeout=120)
        if check and done.returncode != 0:
            pytest.fail(f"docker {' '.join(args)}: {done.stderr.strip()[-1000:]}",
                        pytrace=False)
        return done.stdout.strip()


def _ping(path: str) -> bool:
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as client:
        client.settimeout(1)
        client.connect(path)
        client.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
        return b"OK" in client.recv(4096)
    return False


def _static(path: str) -> bool:
    """A statically linked executable (no program interpreter): it runs in an empty root."""
    with open(os.path.realpath(path), "rb") as handle:
        head = handle.read(1 << 16)
    return head.startswith(b"\x7fELF") and b"/ld-linux" not in head and b"/ld-musl" not in head


@contextlib.contextmanager
def dockerd(*extra: str):
    """A private dockerd (see the module's docstring), with `extra` arguments; stopped and
    cleaned up on the way out."""
    binary = need("dockerd", "docker.io")
    docker = need("docker", "docker.io")
    directory = tempfile.mkdtemp(prefix="lw-dkr-")
    sock = os.path.join(directory, "docker.sock")
    config = os.path.join(directory, "daemon.json")
    with open(config, "w") as handle:
        handle.write("{}\n")
    log = open(os.path.join(directory, "dockerd.log"), "wb")
    process = subprocess.Popen(
        [binary, "--data-root", os.path.join(directory, "data"),
         "--exec-root", os.path.join(directory, "exec"),
         "--pidfile", os.path.join(directory, "docker.pid"),
         "--config-file", config, "-H", f"unix://{sock}", *extra,
         "--iptables=false", "--ip6tables=false", "--bridge=none", "--ip-forward=false",
         "--ip-masq=false", "--userland-proxy=false", "--shutdown-timeout=1"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env["DOCKER_HOST"] = f"unix://{sock}"
    env["DOCKER_CONFIG"] = os.path.join(directory, "client")
    running = Engine(sock, directory, docker, env)
    try:
        deadline = time.monotonic() + 60
        while not _ping(sock):
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                with open(log.name, "rb") as handle:
                    tail = handle.read()[-3000:].decode(errors="replace")
                pytest.fail(f"dockerd did not start (exit {process.poll()}): {tail}",
                            pytrace=False)
            time.sleep(0.1)
        yield running
    finally:
        if process.poll() is None:
            with contextlib.suppress(Exception):
                ids = running.cli("ps", "-aq", check=False).split()
                if ids:
                    running.cli("rm", "-f", *ids, check=False)
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        log.close()
        _unmount_below(directory)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def engine():
    busybox = need("busybox", "busybox-static")
    if not _static(busybox):
        pytest.fail(f"{busybox} is not statically linked: install the Debian package "
                    "busybox-static", pytrace=False)
    with dockerd() as running:
        _import_image(running)
        yield running


def _import_image(engine: Engine) -> None:
    """A root filesystem of busybox-static and its applet links, imported as IMAGE."""
    root = os.path.join(engine.directory, "rootfs")
    os.makedirs(os.path.join(root, "bin"))
    shutil.copy(os.path.realpath(need("busybox", "busybox-static")),
                os.path.join(root, "bin", "busybox"))
    for applet in ("sh", "sleep", "true", "false", "cat"):
        os.symlink("busybox", os.path.join(root, "bin", applet))
    archive = os.path.join(engine.directory, "rootfs.tar")
    with tarfile.open(archive, "w") as tar:
        tar.add(root, arcname=".")
    engine.cli("import", "--change", 'CMD ["/bin/sleep", "3600"]',
               "--change", f"ENV IMAGE_SETTING={IMAGE_VALUE}", archive, IMAGE)


def _unmount_below(directory: str) -> None:
    """Overlay and shm mounts a killed dockerd may leave behind, deepest first."""
    with open("/proc/self/mounts") as handle:
        points = [line.split()[1] for line in handle if line.split()[1].startswith(directory)]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)


def inspect(engine: Engine, name: str) -> dict:
    return json.loads(engine.cli("inspect", name))[0]
