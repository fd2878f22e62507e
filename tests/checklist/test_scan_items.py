"""The image-scan items (4.1.3, 4.1.4, 9.2.2) on a copy of the example lab, whose
labwarden.yaml names scans/grafana.json (a Trivy report of grafana/grafana:11.3.0 made
2026-11-26, with a fixable HIGH): through the real command line."""

from __future__ import annotations

import json

from checklist_cli import run


def items(capsys, service: str, today: str = "2026-12-01") -> dict[str, dict]:
    code, out, err = run(capsys, "checklist", service, "--format", "json", "--today", today)
    assert code == 0, err
    return {i["id"]: i for i in json.loads(out)["items"]}


def test_a_fresh_report_proves_the_scan_and_its_fixable_high_fails(lab, capsys) -> None:
    grafana = items(capsys, "grafana")
    assert grafana["4.1.3"]["status"] == "PASS"
    assert grafana["9.2.2"]["status"] == "PASS"
    assert grafana["4.1.4"]["status"] == "FAIL"
    assert "IMG010" in grafana["4.1.4"]["rules"]


def test_a_service_whose_images_no_report_covers_stays_open(lab, capsys) -> None:
    paperless = items(capsys, "paperless")
    assert {paperless[i]["status"] for i in ("4.1.3", "4.1.4", "9.2.2")} == {"OPEN"}


def test_a_stale_report_fails_the_scan_items_and_proves_nothing(lab, capsys) -> None:
    config = lab / "labwarden.yaml"       # the lab's policy, not the example's year
    config.write_text(config.read_text().replace("  max_age: 365d\n", "  max_age: 14d\n"))
    grafana = items(capsys, "grafana", today="2026-12-20")     # 24 days after the scan
    assert grafana["4.1.3"]["status"] == "FAIL" and "IMG012" in grafana["4.1.3"]["rules"]
    assert grafana["9.2.2"]["status"] == "FAIL"


def test_an_ignore_with_a_reason_lifts_the_high(lab, capsys) -> None:
    config = lab / "labwarden.yaml"
    config.write_text(config.read_text().replace("  max_age: 365d\n", """  max_age: 14d
  ignore:
    - id: CVE-2025-22869
      image: grafana/grafana:11.3.0
      reason: Grafana runs no SSH server; x/crypto/ssh is not reachable
      expires: "2027-03-01"
"""))
    grafana = items(capsys, "grafana")
    assert grafana["4.1.4"]["status"] == "PASS"


def test_without_reports_the_items_stay_open_and_say_what_answers_them(lab, capsys) -> None:
    config = lab / "labwarden.yaml"
    config.write_text(config.read_text().replace("  reports: [scans/*.json]\n", ""))
    grafana = items(capsys, "grafana")
    for item in ("4.1.3", "4.1.4"):
        assert grafana[item]["status"] == "OPEN"
        assert "Trivy or Grype" in grafana[item]["note"], grafana[item]
