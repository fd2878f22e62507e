"""Every file labwarden reads is checked for its type first: a FIFO, socket, device or
directory where a file was expected is a diagnostic at its path, never a read that waits
forever, and the rest of the run is still audited.

The end-to-end cases run the command in a subprocess with a generous timeout: before the
fix they blocked forever, and a hang must fail the test, not the test run.
"""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from labwarden.sources import _read
from labwarden.sources._read import FileTooLarge, NotRegularFile, open_regular, read_regular

HANG_GUARD_S = 60
GOOD = "services:\n  web:\n    image: nginx:1.27\n    privileged: true\n"
SRC = Path(__file__).resolve().parents[2] / "src" / "labwarden"


def labwarden(*args: str, cwd: Path) -> tuple[int, dict]:
    """Run a command with JSON output; (exit code, report). A hang fails the test."""
    try:
        done = subprocess.run([sys.executable, "-m", "labwarden", *args, "--format", "json"],
                              capture_output=True, text=True, cwd=cwd, timeout=HANG_GUARD_S,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"labwarden {' '.join(args)} did not finish within {HANG_GUARD_S} s")
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def refusal(report: dict, path: str) -> dict:
    """The one diagnostic at `path` (relative to the run's directory)."""
    found = [d for d in report["diagnostics"]
             if d["location"] and os.path.normpath(d["location"]["path"]) == path]
    assert len(found) == 1, report["diagnostics"]
    return found[0]


def rule_hits(report: dict, rule: str, path: str) -> int:
    return sum(1 for f in report["findings"]
               if f["rule_id"] == rule and os.path.normpath(f["location"]["path"]) == path)


# --- end to end: each kind of file, a FIFO in its place ----------------------------------

def test_fifo_named_compose_yml(tmp_path):
    (tmp_path / "bad").mkdir()
    os.mkfifo(tmp_path / "bad" / "compose.yml")
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "compose.yml").write_text(GOOD)
    code, report = labwarden("audit", ".", cwd=tmp_path)
    error = refusal(report, "bad/compose.yml")
    assert (error["level"], error["code"]) == ("error", "not-a-file")
    assert "FIFO" in error["message"]
    assert rule_hits(report, "CMP010", "good/compose.yml") == 1
    assert code == 2  # input that could not be checked


def test_fifo_without_suffix_in_a_scripts_directory(tmp_path):
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    os.mkfifo(scripts / "deploy")      # no suffix: only its shebang would tell, if read
    (scripts / "backup.sh").write_text("#!/bin/bash\nrm -rf $TARGET/\n")
    code, report = labwarden("scripts", "scripts", "--no-shellcheck", cwd=tmp_path)
    skipped = refusal(report, "scripts/deploy")
    assert skipped["code"] == "not-a-file" and "FIFO" in skipped["message"]
    assert rule_hits(report, "SCR004", "scripts/backup.sh") == 1
    assert report["summary"]["files_scanned"] == 1
    assert code == 1  # the findings decide; a FIFO beside scripts is no input error


def test_fifo_named_like_a_script(tmp_path):
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    os.mkfifo(scripts / "deploy.sh")
    (scripts / "backup.sh").write_text("#!/bin/bash\nrm -rf $TARGET/\n")
    code, report = labwarden("scripts", "scripts", "--no-shellcheck", cwd=tmp_path)
    error = refusal(report, "scripts/deploy.sh")
    assert error["level"] == "error" and "FIFO" in error["message"]
    assert rule_hits(report, "SCR004", "scripts/backup.sh") == 1
    assert code == 2


@pytest.mark.parametrize("compose, env", [
    (GOOD.replace("nginx:1.27", "nginx:${TAG:-1.27}"), ".env"),   # the project's
    (GOOD + "    env_file: app.env\n", "app.env"),                 # a service's env_file
])
def test_fifo_as_env_file(tmp_path, compose, env):
    (tmp_path / "compose.yml").write_text(compose)
    os.mkfifo(tmp_path / env)
    code, report = labwarden("audit", ".", cwd=tmp_path)
    error = refusal(report, env)
    assert (error["level"], error["code"]) == ("error", "not-a-file")
    assert rule_hits(report, "CMP010", "compose.yml") == 1
    assert code == 2


def test_fifo_as_sshd_config_in_a_snapshot(tmp_path):
    snapshot = tmp_path / "snap"
    (snapshot / "files" / "etc" / "ssh").mkdir(parents=True)
    os.mkfifo(snapshot / "files" / "etc" / "ssh" / "sshd_config")
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / "compose.yml").write_text(GOOD)
    code, report = labwarden("audit", "snapshot:snap", "stack", cwd=tmp_path)
    error = refusal(report, "snap/files/etc/ssh/sshd_config")
    assert (error["level"], error["code"]) == ("error", "not-a-file")
    assert rule_hits(report, "CMP010", "stack/compose.yml") == 1
    assert code == 2


def test_fifo_as_a_snapshot_command_output(tmp_path):
    snapshot = tmp_path / "snap"
    snapshot.mkdir()
    os.mkfifo(snapshot / "ss.txt")
    code, report = labwarden("audit", "snapshot:snap", cwd=tmp_path)
    assert refusal(report, "snap/ss.txt")["code"] == "not-a-file"
    assert code == 2


# --- the helper: every kind of file that is not a regular one ----------------------------

def _without_hanging(call, fifo: Path | None = None):
    """call() in a thread; if it blocks (on a FIFO), unblock it by opening the FIFO for
    writing, then fail."""
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HANG_GUARD_S)
    if thread.is_alive():
        if fifo is not None:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("the read blocked")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


@pytest.fixture
def specials(tmp_path):
    """A FIFO, a listening Unix socket, a character device and a directory."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock"))
    sock.listen()
    yield {"FIFO": fifo, "socket": tmp_path / "sock", "character device": Path("/dev/zero"),
           "directory": tmp_path}
    sock.close()


@pytest.mark.parametrize("kind", ["FIFO", "socket", "character device", "directory"])
def test_read_regular_refuses_what_is_not_a_file(specials, kind):
    with pytest.raises(NotRegularFile) as refused:
        _without_hanging(lambda: read_regular(str(specials[kind]), 1024), specials["FIFO"])
    assert kind in refused.value.strerror
    assert isinstance(refused.value, OSError)  # reported wherever unreadable files are


def test_a_fifo_swapped_in_after_stat_is_refused_unread(specials, monkeypatch):
    # stat() saw a regular file; by the time it is opened a FIFO took its place. Opening it
    # blocking would wait for a writer.
    regular = os.stat(__file__)
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda p, *a, **k: regular if str(p) == str(
        specials["FIFO"]) else real_stat(p, *a, **k))
    with pytest.raises(NotRegularFile):
        _without_hanging(lambda: open_regular(str(specials["FIFO"])), specials["FIFO"])


def test_limits_are_kept_when_stat_does_not_tell_the_size(tmp_path, monkeypatch):
    path = tmp_path / "grows"
    path.write_bytes(b"x" * 300_000)
    real_stat, real_fstat = os.stat, os.fstat

    def unsized(st):  # a /proc file: stat() says 0 bytes, reading finds more
        return os.stat_result((*st[:6], 0, *st[7:]))

    monkeypatch.setattr(os, "stat", lambda p, *a, **k: unsized(real_stat(p, *a, **k)))
    monkeypatch.setattr(os, "fstat", lambda fd: unsized(real_fstat(fd)))
    assert read_regular(str(path), 400_000) == b"x" * 300_000
    with pytest.raises(FileTooLarge) as refused:
        read_regular(str(path), 100_000)
    assert refused.value.size is None


@pytest.mark.parametrize("size", [0, 1, 999, 1000, 1001, 5000])
def test_short_reads_are_read_on_until_the_file_ends(tmp_path, monkeypatch, size):
    """read() of a descriptor may return fewer bytes than asked: only an empty read says the
    file ended, so what is read (and the limit) is the same as with whole reads."""
    path = tmp_path / "compose.yml"
    content = bytes(range(256)) * (size // 256) + b"y" * (size % 256)
    path.write_bytes(content)
    real_read = os.read
    monkeypatch.setattr(os, "read", lambda fd, n: real_read(fd, min(n, 7)))
    assert read_regular(str(path), 1000 if size <= 1000 else 10_000) == content
    if size > 1000:
        with pytest.raises(FileTooLarge):
            read_regular(str(path), 1000)


def test_ca_file_that_is_a_fifo_is_refused(specials):
    from labwarden.sources.live import http, tls

    fifo = str(specials["FIFO"])
    for load in (lambda: tls._context(True, fifo), lambda: http._verified_context(fifo)):
        with pytest.raises(NotRegularFile):
            _without_hanging(load, specials["FIFO"])
    assert _without_hanging(lambda: tls._anchors(fifo), specials["FIFO"]) is not None


def test_ca_file_is_still_loaded(tmp_path):
    # Read by labwarden now, not by OpenSSL: a bundle with text around its certificates.
    pem = ssl.get_default_verify_paths().cafile or ssl.get_default_verify_paths().openssl_cafile
    if not pem or not os.path.isfile(pem):
        pytest.skip("no system CA bundle")
    text = Path(pem).read_text(encoding="utf-8", errors="replace")
    first = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", text, re.S)
    bundle = tmp_path / "lab-ca.pem"
    bundle.write_text(f"# Lab CA — ümlauts in a comment\n{first.group(0)}\ntrailing text\n")
    context = ssl.create_default_context(cadata=_read.read_ca_file(str(bundle)))
    assert context.cert_store_stats()["x509_ca"] == 1


def test_sshd_config_read_locally_refuses_a_fifo(specials):
    from labwarden.sources.sshd_config import parse_sshd_config

    config = _without_hanging(lambda: parse_sshd_config(str(specials["FIFO"])),
                              specials["FIFO"])
    assert config.error and [d.location.path for d in config.diagnostics] == [
        str(specials["FIFO"])]


def test_shebang_sniffing_and_fix_do_not_open_a_fifo(specials):
    from labwarden.fix import runner
    from labwarden.fix.yamledit import Skip
    from labwarden.sources.scripts import is_shell_script

    fifo = str(specials["FIFO"])
    assert _without_hanging(lambda: is_shell_script(fifo), specials["FIFO"]) is False
    with pytest.raises(Skip):
        _without_hanging(lambda: runner._read(fifo), specials["FIFO"])


# --- no reader bypasses the helper -------------------------------------------------------

# Reads that do not go through labwarden.sources._read: how many each file may have, and why.
NOT_INPUT = {
    "checklist/attest.py": (1, "the attestation file re-read by its writer, which replaces it"),
    "checklist/catalog.py": (2, "the checklist catalog: package data or a test's file"),
    "report/json_report.py": (1, "the JSON schema: package data"),
    "fix/runner.py": (1, "write() re-reads the file _read() checked, to refuse a changed one"),
    "sources/live/creds.py": (2, "the default-credentials table (package data) and fixtures"),
    "sources/live/tls.py": (1, "facts_from_yaml: rule fixtures"),
    "sources/live/ports.py": (1, "facts_from_yaml: rule fixtures"),
    "sources/live/host.py": (1, "facts_from_yaml: rule fixtures"),
    "sources/live/http.py": (1, "facts_from_yaml: rule fixtures"),
    "sources/proxy/model.py": (1, "facts_from_yaml: rule fixtures"),
    "sources/sshd_config.py": (1, "yaml_items: rule fixtures"),
}
# open( for reading (not os.open, a method, a definition, or a mode that writes), read_text(…
_READ_CALL = re.compile(r"(?<![\w.])(?<!def )open\((?![^)]*[\"'][wax]b?[\"'])"
                        r"|\.read_(?:text|bytes)\(")


def test_every_file_read_goes_through_the_type_check():
    unchecked = []
    for path in sorted(SRC.rglob("*.py")):
        name = path.relative_to(SRC).as_posix()
        if name == "sources/_read.py":
            continue
        reads = [f"{name}:{number}: {line.strip()}" for number, line in
                 enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if _READ_CALL.search(line.split("#", 1)[0]) and "os.fdopen" not in line]
        if len(reads) > NOT_INPUT.get(name, (0, ""))[0]:
            unchecked += reads
    assert unchecked == [], "read these through labwarden.sources._read"
