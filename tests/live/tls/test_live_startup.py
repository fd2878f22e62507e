"""What a one-target `labwarden audit https://…` imports (issue 15's speed target): neither
httpx (the header probe has its own client), nor cryptography (certificates are read from
their DER), nor PyYAML (no YAML is parsed), in a fresh interpreter, against a real site."""

from __future__ import annotations

import json
import subprocess
import sys

CHECK = """
import sys
from labwarden import cli
try:
    cli.main(sys.argv[1:])
finally:
    print(sorted(m for m in ("httpx", "httpcore", "cryptography", "yaml") if m in sys.modules),
          file=sys.stderr)
"""


def test_a_live_tls_audit_imports_no_httpx_cryptography_or_yaml(nginx, pki, tmp_path):
    out = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-c", CHECK, "audit", f"https://strong.test:{nginx.ports['strong']}",
         "--resolve", "strong.test=127.0.0.1", "--ca-file", pki.path("ca.crt"), "--no-config",
         "--format", "json", "-o", str(out)], capture_output=True, text=True, check=False)
    assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr
    report = json.loads(out.read_text())
    assert not [d for d in report["diagnostics"] if d["level"] == "error"]
    assert {f["rule_id"] for f in report["findings"]} >= {"HDR001"}   # headers were judged
