"""A snapshot that holds only some of the host's files (issue 15): what it has is audited,
what it lacks is a coverage gap (exit code unchanged), not an error; an empty snapshot, or a
file that is there but cannot be read, is still an error."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SSHD_T = """port 22
permitrootlogin yes
passwordauthentication yes
kbdinteractiveauthentication no
usepam yes
maxauthtries 6
x11forwarding no
permitemptypasswords no
"""


def audit(path) -> tuple[int, dict]:
    done = subprocess.run([sys.executable, "-m", "labwarden", "audit", f"snapshot:{path}",
                           "--no-config", "--format", "json", "--fail-on", "never"],
                          capture_output=True, text=True, check=False)
    return done.returncode, json.loads(done.stdout)


def test_a_snapshot_with_only_sshd_is_audited_with_gaps(tmp_path):
    (tmp_path / "sshd_T.txt").write_text(SSHD_T)
    code, report = audit(tmp_path)
    assert code == 0, report["diagnostics"]
    levels = {(d["code"], d["level"]) for d in report["diagnostics"]}
    assert ("not-collected", "gap") in levels
    assert not [d for d in report["diagnostics"] if d["level"] == "error"]
    gaps = " ".join(d["message"] for d in report["diagnostics"] if d["level"] == "gap")
    assert "ss.txt: not in the snapshot" in gaps and "iptables-save.txt" in gaps
    rules = {f["rule_id"] for f in report["findings"]}
    assert {"SSH020", "SSH021"} <= rules              # what the snapshot has was judged


def test_an_empty_snapshot_is_still_an_error(tmp_path):
    code, report = audit(tmp_path)
    assert code == 2
    assert [d for d in report["diagnostics"] if d["level"] == "error"]


def test_a_file_there_but_unreadable_is_an_error(tmp_path):
    (tmp_path / "sshd_T.txt").write_text(SSHD_T)
    os.mkfifo(tmp_path / "ss.txt")             # not a regular file: refused, not absent
    code, report = audit(tmp_path)
    assert code == 2
    errors = [d for d in report["diagnostics"] if d["level"] == "error"]
    assert errors and any("ss" in d["message"] or "not-a-file" == d["code"] for d in errors)
