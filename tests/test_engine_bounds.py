"""Bounds on the engine: rules and the loader stay linear in services (counted in lookups,
not timed), waivers are not tried on findings of other rules, and forked workers end when
the parent is killed instead of auditing on for nothing."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labwarden._fork import die_with_parent as _die_with_parent
from labwarden.audit.compose import AuditOptions, _in_projects, audit
from labwarden.model import Finding, Location, Severity
from labwarden.rules import registry
from labwarden.sources.yamlfile import Map
from labwarden.suppress import Waiver, apply_waivers


def service(i: int, count: int) -> str:
    """What made rules compare every service with every other: no restart policy (with a
    one-shot job to look for), DOCKER_HOST naming another container, container names."""
    lines = [f"  s{i}:", f"    image: nginx:1.{i % 20}", f"    container_name: c{i}",
             "    environment:", f"      DOCKER_HOST: tcp://c{(i + 1) % count}:2375"]
    if i + 1 < count:
        condition = "service_completed_successfully" if i % 7 == 0 else "service_started"
        lines += ["    depends_on:", f"      s{i + 1}:", f"        condition: {condition}"]
    return "\n".join(lines)


def project(root: Path, count: int) -> Path:
    target = root / f"n{count}"
    target.mkdir()
    (target / "compose.yaml").write_text(
        "services:\n" + "\n".join(service(i, count) for i in range(count)) + "\n")
    return target


def lookups(path: Path, monkeypatch) -> int:
    """Map.get calls made by one audit (loader and rules) of `path`."""
    count = 0
    real = dict.get

    def counting(self, key, default=None):
        nonlocal count
        count += 1
        return real(self, key, default)

    with monkeypatch.context() as patch:
        patch.setattr(Map, "get", counting)
        result = audit([str(path)], AuditOptions(jobs=1))
    assert not [d for d in result.diagnostics if d.level == "error"], result.diagnostics
    return count


def test_rules_and_loader_are_linear_in_services(tmp_path: Path, monkeypatch):
    small, large = (lookups(project(tmp_path, n), monkeypatch) for n in (100, 400))
    # Linear: four times the services, about four times the lookups; comparing every
    # service with every other (the restart rule, DOCKER_HOST's names) made it sixteen.
    assert large < 4.6 * small, (small, large)


def test_one_shot_jobs_are_still_exempt_from_the_restart_rule(tmp_path: Path):
    result = audit([str(project(tmp_path, 15))], AuditOptions(jobs=1))
    flagged = {f.asset.rsplit("/", 1)[-1] for f in result.findings if f.rule.id == "CMP071"}
    awaited = {f"s{i + 1}" for i in range(14) if i % 7 == 0}   # s1 and s8
    assert flagged == {f"s{i}" for i in range(15)} - awaited


def finding(rule_id: str, asset: str) -> Finding:
    rule = registry.get(rule_id)
    return Finding(rule=rule, severity=Severity.LOW, message="m", location=Location("f", 1),
                   asset=asset, resource="r")


def test_waivers_are_tried_only_on_findings_of_their_rule(monkeypatch):
    waivers = [Waiver(f"CMP{n:03d}", "j", "o", None, Location("w", n), service="other/*")
               for n in range(500)]
    waivers += [Waiver("restart-policy-missing", "by name", "o", None, Location("w", 600)),
                Waiver("*", "any", "o", None, Location("w", 700))]
    tried = []
    real = Waiver.matches
    monkeypatch.setattr(Waiver, "matches", lambda self, f: tried.append(self) or real(self, f))
    findings = [finding("CMP071", f"compose:p/s{i}") for i in range(50)]
    apply_waivers(findings, waivers, [], dt.date(2026, 1, 1))
    # In the order written: CMP071's own waiver (another scope), then the one by name.
    assert all(f.suppression.justification == "by name" for f in findings)
    assert len(tried) == 50 * 2 and {w.rule for w in tried} == {"CMP071",
                                                                "restart-policy-missing"}


def test_dropped_projects_are_found_by_prefix():
    dropped = {"compose:inc", "compose:a/b"}
    assert _in_projects("compose:inc", dropped)
    assert _in_projects("compose:inc/web", dropped)
    assert _in_projects("compose:inc:.env", dropped)
    assert _in_projects("compose:a/b/web", dropped)
    assert not _in_projects("compose:include/web", dropped)
    assert not _in_projects("compose:a", dropped)


# --- orphans -------------------------------------------------------------------------------

def test_a_worker_whose_parent_is_gone_exits_at_once():
    pid = os.fork()
    if pid == 0:  # the parent "died" before the watch was set: any other pid than ours
        try:
            _die_with_parent(1 if os.getppid() != 1 else 2)
        finally:
            os._exit(0)                # reached only if the worker did not exit
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 1


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def state_and_cpu(pid: int) -> tuple[str, int] | None:
    """(state letter, CPU ticks) of a process; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[11]) + int(fields[12])


def wait_for(condition, seconds: float):
    """Poll `condition` until it returns something true, for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    return condition()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_when_the_parent_is_killed(tmp_path: Path):
    for p in range(600):
        directory = tmp_path / f"p{p}"
        directory.mkdir()
        (directory / "compose.yaml").write_text(
            "services:\n" + "\n".join(service(i, 10) for i in range(10)) + "\n")
    parent = subprocess.Popen([sys.executable, "-m", "labwarden", "audit", str(tmp_path),
                               "--jobs", "2", "--format", "json", "-o", os.devnull],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    try:
        found = wait_for(lambda: children_of(parent.pid), 60)
        assert found, "no worker was forked"
        [worker] = found
        # Once the worker has run for a while it is past its set-up after fork(); stopped,
        # it cannot finish its share on its own: only the parent's death can end it.
        assert wait_for(lambda: (state_and_cpu(worker) or ("", 99))[1] >= 10, 60)
        os.kill(worker, signal.SIGSTOP)
        parent.kill()
        parent.wait(timeout=30)
        gone = wait_for(lambda: (state_and_cpu(worker) or ("Z", 0))[0] in "ZX", 30)
        assert gone, "the worker outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if worker is not None and state_and_cpu(worker) is not None:
            try:
                os.kill(worker, signal.SIGKILL)
            except ProcessLookupError:
                pass
