"""Real backup repositories and real database dumps for the backup tests.

- restic and Borg (Debian packages `restic`, `borgbackup`) create repositories on local
  paths under a temporary directory; Borg's own state (security, cache, keys) lives in a
  private BORG_BASE_DIR, restic writes no cache (`--no-cache`).
- A PostgreSQL cluster (Debian `postgresql`) is initialised in a temporary directory and
  run as the postgres user on a Unix socket only (no TCP at all), once per session, to
  produce real `pg_dump` output: plain SQL and the custom format.

A missing binary fails the fixture with the Debian package to install. Nothing touches the
network.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

PASSWORD = "correct horse battery staple 42"      # test-only repository password


def need(binary: str, package: str) -> str:
    found = shutil.which(binary)
    if not found:
        pytest.fail(f"{binary} not found: install the Debian package {package} "
                    f"(apt-get install -y {package})", pytrace=False)
    return found


@pytest.fixture(scope="session")
def borg_home(tmp_path_factory) -> Path:
    """Borg's security and cache directories, private to the test session."""
    home = tmp_path_factory.mktemp("borg-base")
    previous = os.environ.get("BORG_BASE_DIR")
    os.environ["BORG_BASE_DIR"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("BORG_BASE_DIR", None)
    else:
        os.environ["BORG_BASE_DIR"] = previous


@dataclass
class Repo:
    """A repository made for a test: its labwarden.yaml text and its password file."""

    text: str            # restic:/… or borg:/…
    path: Path
    password_file: Path | None


class Repos:
    """Makes real repositories under one directory, and backs up folders into them."""

    def __init__(self, root: Path, borg_home: Path):
        self.root = root
        self.borg_home = borg_home
        self.password_file = root / "repo.pass"
        self.password_file.write_text(PASSWORD + "\n")
        os.chmod(self.password_file, 0o600)

    def _env(self, repo: Repo, password: str | None = PASSWORD) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("RESTIC_", "BORG_PASS"))}
        env["BORG_BASE_DIR"] = str(self.borg_home)
        if password is not None:
            env["RESTIC_PASSWORD"] = env["BORG_PASSPHRASE"] = password
        else:
            env["BORG_PASSPHRASE"] = ""
        return env

    def restic(self, name: str) -> Repo:
        restic = need("restic", "restic")
        path = self.root / name
        repo = Repo(f"restic:{path}", path, self.password_file)
        subprocess.run([restic, "init", "--no-cache", "-q", "-r", str(path)], check=True,
                       env=self._env(repo), capture_output=True)
        return repo

    def borg(self, name: str, encryption: str = "repokey-blake2") -> Repo:
        borg = need("borg", "borgbackup")
        path = self.root / name
        password = None if encryption == "none" else PASSWORD
        repo = Repo(f"borg:{path}", path, None if password is None else self.password_file)
        subprocess.run([borg, "init", "--encryption", encryption, str(path)], check=True,
                       env=self._env(repo, password), capture_output=True)
        return repo

    def backup(self, repo: Repo, folder: Path, at: dt.datetime | None = None,
               name: str | None = None) -> None:
        """Back `folder` up into `repo`, dated `at` (local time, as the tools read it)."""
        env = self._env(repo, None if repo.password_file is None else PASSWORD)
        stamp = (at or dt.datetime.now()).astimezone()
        if repo.text.startswith("restic:"):
            argv = ["restic", "backup", "--no-cache", "-q", "-r", str(repo.path),
                    "--time", stamp.strftime("%Y-%m-%d %H:%M:%S"), "."]
        else:
            archive = name or f"a-{stamp.strftime('%Y%m%d%H%M%S')}-{time.monotonic_ns()}"
            argv = ["borg", "create", "--timestamp",
                    stamp.replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S"),
                    f"{repo.path}::{archive}", "."]
        subprocess.run(argv, check=True, env=env, capture_output=True, cwd=folder)


@pytest.fixture
def repos(tmp_path, borg_home) -> Repos:
    root = tmp_path / "repos"
    root.mkdir()
    return Repos(root, borg_home)


def sample_data(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "app.sql").write_text("-- PostgreSQL database dump\nSELECT 1;\n"
                                    "-- PostgreSQL database dump complete\n")
    return folder


# The restic repositories several tests only read, made once (in parallel: `restic init`
# derives its key for a second) with snapshots this many days old.
RESTIC_HISTORIES = {"stale": (2,), "fresh": (2, 0), "graded": (30, 8, 0)}


@pytest.fixture(scope="session")
def restic_repos(tmp_path_factory, borg_home) -> dict[str, Repo]:
    from concurrent.futures import ThreadPoolExecutor

    root = tmp_path_factory.mktemp("restic-repos")
    maker = Repos(root, borg_home)
    folder = sample_data(root / "data")
    now = dt.datetime.now()

    def make(name: str) -> tuple[str, Repo]:
        repo = maker.restic(name)
        for days in RESTIC_HISTORIES[name]:
            maker.backup(repo, folder, at=now - dt.timedelta(days=days))
        return name, repo

    with ThreadPoolExecutor(2) as pool:
        return dict(pool.map(make, RESTIC_HISTORIES))


# --- PostgreSQL dumps ------------------------------------------------------------------------

def _pg_bin(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if not candidates:
        pytest.fail(f"PostgreSQL's {name} not found: install the Debian package postgresql "
                    "(apt-get install -y postgresql)", pytrace=False)
    return candidates[0]


def _as_postgres(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([need("runuser", "util-linux"), "-u", "postgres", "--", *argv],
                          check=True, capture_output=True, **kwargs)


@dataclass
class Dumps:
    plain: bytes        # pg_dump's plain SQL
    custom: bytes       # pg_dump --format=custom


SCHEMA_SQL = r"""
CREATE TABLE documents (id serial PRIMARY KEY, title text NOT NULL, body text);
INSERT INTO documents (title, body)
  SELECT 'invoice ' || n, repeat('a line; with ''quotes'' and $$dollars$$ ', 40)
  FROM generate_series(1, 400) AS n;
CREATE FUNCTION shout(text) RETURNS text LANGUAGE sql AS $fn$ SELECT upper($1) || ';' $fn$;
COMMENT ON TABLE documents IS E'scanned letters;\nand invoices';
"""


@pytest.fixture(scope="session")
def pg_dumps() -> Dumps:
    """A real database dumped by pg_dump in both formats: a cluster on a Unix socket in a
    temporary directory, started, dumped and stopped."""
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("no postgres user: install the Debian package postgresql", pytrace=False)
    directory = tempfile.mkdtemp(prefix="lw-pgdump-")
    os.chown(directory, user.pw_uid, user.pw_gid)
    data = os.path.join(directory, "data")
    process = None
    try:
        _as_postgres([_pg_bin("initdb"), "-D", data, "-U", "postgres", "--auth=trust",
                      "-E", "UTF8", "--locale=C", "--no-sync"])
        process = subprocess.Popen(
            [_pg_bin("postgres"), "-D", data, "-k", directory, "-c", "listen_addresses=",
             "-c", "fsync=off", "-c", "shared_buffers=16MB", "-c", "logging_collector=off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, user=user.pw_uid,
            group=user.pw_gid, extra_groups=[], cwd=directory)
        psql = [_pg_bin("psql"), "-h", directory, "-U", "postgres", "-v", "ON_ERROR_STOP=1",
                "-q"]
        for _ in range(100):       # the socket appears once the server takes connections
            try:
                _as_postgres([*psql, "-d", "postgres", "-c", "CREATE DATABASE paperless"])
                break
            except subprocess.CalledProcessError:
                if process.poll() is not None:
                    pytest.fail("postgres exited at start", pytrace=False)
                time.sleep(0.1)
        _as_postgres([*psql, "-d", "paperless"], input=SCHEMA_SQL.encode())
        dump = [_pg_bin("pg_dump"), "-h", directory, "-U", "postgres", "paperless"]
        plain = _as_postgres(dump).stdout
        custom = _as_postgres([*dump, "--format=custom"]).stdout
        return Dumps(plain, custom)
    finally:
        if process is not None:
            process.send_signal(signal.SIGINT)      # PostgreSQL's "fast" shutdown
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)
            if process.poll() is None:
                process.kill()
                process.wait()
        shutil.rmtree(directory, ignore_errors=True)
