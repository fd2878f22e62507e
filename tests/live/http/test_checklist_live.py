"""Live evidence in the checklist: items evidenced by HTTP header rules are answered from a
real probe of the service's URL (nginx on loopback), and stay OPEN when the URL cannot be
reached or --live is not asked for."""

from __future__ import annotations

import json
from pathlib import Path

from labwarden.cli import main

CSP_ITEM = "7.1.1"          # Content-Security-Policy configured (HDR004/HDR005)


def lab(tmp_path: Path, urls: dict[str, str]) -> Path:
    lines = ["services:"]
    for name, url in urls.items():
        lines += [f"  {name}:", "    deployment_type: docker", f"    urls: [{url}]"]
    (tmp_path / "labwarden.yaml").write_text("\n".join(lines) + "\n")
    return tmp_path / "labwarden.yaml"


def item(capsys, config: Path, service: str, *extra: str) -> dict:
    code = main(["checklist", service, "--config", str(config), "--format", "json", *extra])
    out, _ = capsys.readouterr()
    assert code == 0
    return {i["id"]: i for i in json.loads(out)["items"]}[CSP_ITEM]


def test_header_items_come_from_the_live_probe(nginx, pki, tmp_path, capsys) -> None:
    ports = nginx.ports
    config = lab(tmp_path, {
        "strong": f"https://localhost:{ports['strong_https']}/",
        "weak": f"https://localhost:{ports['weak_https']}/",
        "gone": "https://localhost:1/",
    })
    live = ["--live", "--ca-file", pki.ca_file, "--timeout", "3"]
    assert item(capsys, config, "strong")["status"] == "OPEN"          # no probe, no evidence
    assert item(capsys, config, "strong", *live)["status"] == "PASS"
    weak = item(capsys, config, "weak", *live)
    assert weak["status"] == "FAIL" and weak["findings"]
    assert item(capsys, config, "gone", *live)["status"] == "OPEN"     # unreachable: unknown
