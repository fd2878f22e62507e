"""Parallel writers of the attestation file, as a CI matrix runs them: separate `labwarden`
processes, each attesting, approving or recording at the same time. None may lose another's
change, and the file keeps its mode. (Before the lock: all exited 0, 4 to 6 of 8 survived,
and 0644 became 0600.)"""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from labwarden.checklist.attest import AttestationBook

EXAMPLE = Path(__file__).parents[2] / "examples" / "homelab"
TODAY = "2026-11-27"
# Items the audit leaves OPEN for grafana in the example lab: attest accepts them.
ITEMS = ["1.1.3", "1.1.4", "1.1.5", "1.1.6", "1.2.1", "1.2.2", "1.2.3", "1.2.4"]


@pytest.fixture()
def lab(tmp_path: Path) -> Path:
    root = tmp_path / "homelab"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".labwarden", "records"))
    (root / "attestations.yaml").chmod(0o644)
    return root


def start(lab: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "labwarden", *args, "--today", TODAY],
                            cwd=lab, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finish(processes: list[subprocess.Popen]) -> list[tuple[int, str]]:
    return [(p.wait(timeout=300), p.stderr.read()) for p in processes]


def test_parallel_attests_all_survive_and_the_mode_is_kept(lab: Path) -> None:
    processes = [start(lab, "attest", "grafana", item, "--by", "jdoe", "--note", f"n {item}")
                 for item in ITEMS]
    results = finish(processes)
    assert results == [(0, "")] * len(ITEMS)
    book = AttestationBook(str(lab / "attestations.yaml"))
    assert sorted(book.services["grafana"].items) == sorted(ITEMS)
    assert all(book.services["grafana"].items[i].note == f"n {i}" for i in ITEMS)
    assert len(book.services["n8n"].items) == 18                 # the others' entries too
    assert stat.S_IMODE((lab / "attestations.yaml").stat().st_mode) == 0o644
    assert not list(lab.glob(".attestations.yaml*"))          # no lock or temporary left


def test_parallel_approve_record_and_attest_all_survive(lab: Path) -> None:
    processes = [start(lab, "attest", "grafana", item, "--by", "jdoe") for item in ITEMS[:4]]
    processes += [start(lab, "approve", "grafana", "--role", role, "--name", "alice")
                  for role in ("security_reviewer", "infrastructure_owner")]
    # grafana is NO-GO in the example lab: a success is recorded with its override reason.
    processes += [start(lab, "record", "grafana", "--method", "ci_cd", "--status", "success",
                        "--override", "monitoring back first")]
    assert [code for code, _ in finish(processes)] == [0] * 7
    record = AttestationBook(str(lab / "attestations.yaml")).services["grafana"]
    assert sorted(record.items) == sorted(ITEMS[:4])
    assert sorted(record.approvals) == ["infrastructure_owner", "security_reviewer"]
    assert record.deployment is not None and record.deployment.method == "ci_cd"
    assert record.deployment.override == "monitoring back first"
