"""The reverse proxy's configuration against the live site (PRX030): an NPM proxy host that
claims HSTS and Force SSL for `localhost`, and real sites on loopback (nginx, see
http_servers) that do (STRONG) or do not (WEAK) send HSTS and redirect plain HTTP."""

from __future__ import annotations

import importlib.util
import json
import textwrap
from pathlib import Path

from labwarden.cli import main

_HELPER = Path(__file__).parents[2] / "sources" / "proxy" / "npm_db.py"


def _npm_database():
    spec = importlib.util.spec_from_file_location("npm_db", _HELPER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.NpmDatabase


def _lab(root: Path, urls: dict[str, str]) -> Path:
    (root / "proxy").mkdir()
    (root / "proxy" / "compose.yaml").write_text(textwrap.dedent("""
        services:
          npm:
            image: jc21/nginx-proxy-manager:2.12.1
            volumes: ["./data:/data"]
    """))
    db = _npm_database()(root / "proxy" / "data" / "database.sqlite")
    certificate = db.certificate("localhost", "other", "2099-01-01 00:00:00")
    db.proxy_host(["localhost"], "app", 8080, certificate_id=certificate, ssl_forced=1,
                  hsts_enabled=1, hsts_subdomains=1, http2_support=1, block_exploits=1)
    db.close()
    lines = ["services:"]
    for name, url in urls.items():
        lines += [f"  {name}:", "    deployment_type: docker", f"    urls: [{url}]"]
    (root / "labwarden.yaml").write_text("\n".join(lines) + "\n")
    return root


def _claims(capsys, root: Path, url: str, ca_file: str) -> list[dict]:
    main(["audit", str(root), url, "--no-config", "--ca-file", ca_file, "--timeout", "3",
          "--format", "json"])
    out, _ = capsys.readouterr()
    return [f for f in json.loads(out)["findings"] if f["rule_id"] == "PRX030"]


def test_a_claim_the_site_does_not_keep_is_a_finding(nginx, pki, tmp_path, capsys) -> None:
    ports = nginx.ports
    weak = f"https://localhost:{ports['weak_https']}/"
    strong = f"https://localhost:{ports['strong_https']}/"
    root = _lab(tmp_path, {"weak": weak, "strong": strong})
    claims = _claims(capsys, root, weak, pki.ca_file)
    assert sorted(f["resource"] for f in claims) == ["claim:force-https", "claim:hsts"]
    assert all(f["asset"] == f"http:localhost:{ports['weak_https']}" for f in claims)
    assert _claims(capsys, root, strong, pki.ca_file) == []


def test_the_checklist_fails_the_claim_for_the_service_of_the_url(nginx, pki, tmp_path,
                                                                  capsys) -> None:
    ports = nginx.ports
    root = _lab(tmp_path, {"weak": f"https://localhost:{ports['weak_https']}/",
                           "strong": f"https://localhost:{ports['strong_https']}/"})

    def items(service: str, *extra: str) -> dict[str, dict]:
        assert main(["checklist", service, "--config", str(root / "labwarden.yaml"),
                     "--format", "json", *extra]) == 0
        return {i["id"]: i for i in json.loads(capsys.readouterr()[0])["items"]}

    live = ["--live", "--ca-file", pki.ca_file, "--timeout", "3"]
    # Without --live the proxy's configuration alone answers: HSTS is configured.
    assert items("weak")["3.3.5"]["status"] == "PASS"
    weak = items("weak", *live)
    assert weak["3.3.5"]["status"] == "FAIL" and weak["3.2.3"]["status"] == "FAIL"
    # Each failed twice: by the site (HDR001, HDR003) and by the broken claim (PRX030).
    assert len(weak["3.3.5"]["findings"]) == len(weak["3.2.3"]["findings"]) == 2
    strong = items("strong", *live)
    assert strong["3.3.5"]["status"] == "PASS" and strong["3.2.3"]["status"] == "PASS"
