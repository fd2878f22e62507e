"""The operator's checklist: item texts in the lab's own words (`lab:` in labwarden.yaml),
and the overlay that renames, disables and adds items — through the real command line on a
copy of the example lab, and its errors with the overlay's file and line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from labwarden.checklist import lab as lab_words
from labwarden.checklist.catalog import load_catalog
from labwarden.cli import main

CATALOG_YAML = Path(__file__).parents[2] / "src" / "labwarden" / "checklist" / "catalog.yaml"
TODAY = "2026-11-27"

# The seed lab's own parts: after every placeholder is given another value, no text the
# catalogue shows may still name one of them.
SEED_LAB_PARTS = ("jramos", "/home/", "CT 10", "Nginx Proxy Manager", "NetBox", "Loki",
                  "Prometheus", "Grafana", "TinyAuth", "Proxmox", "Let's Encrypt",
                  "CONTAINER_NAME_FIXES")

OVERLAY = """\
# the lab's own checklist
rename:
  "3.2.1": Service behind {reverse_proxy} with the `secure-chain@file` middleware
disable:
  "3.4.1": No hypervisor firewall here; the Docker hosts are bare-metal Debian
  "3.1.5": the database host is on an isolated VLAN   # a CRITICAL item the audit fails
add:
  L1:
    title: Lab-specific controls
    subsections:
      L1.1:
        title: Remote access
        items:
          L1.1.1:
            text: Reachable only through the Tailscale ACL group `tag:lab`
            severity: HIGH
            reason: the tailnet ACL is the lab's perimeter
            applies_to: [docker]
          L1.1.2:
            text: Exit node disabled
            severity: low
            reason: cosmetics
            optional: true
"""

LAB = """
lab:
  reverse_proxy: Traefik on proxy-01
  log_store: {service: grafana, name: Grafana Loki}
  dashboards: Grafana Cloud
checklist:
  overlay: checklist-overlay.yaml
"""


# -- the catalogue's placeholders ----------------------------------------------------------


def _raw_texts() -> dict[str, str]:
    """Every text catalog.yaml fills, as written: item texts, notes, template fields."""
    data = yaml.load(CATALOG_YAML.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    texts = {f"template.{k}": v for k, v in data["template"].items() if isinstance(v, str)}
    for section in data["sections"]:
        for sub in section["subsections"]:
            if "note" in sub:
                texts[f"note {sub['id']}"] = sub["note"]
            for item in sub["items"]:
                texts[item["id"]] = item["text"]
    return texts


def _shown_texts(catalog) -> dict[str, str]:
    texts = {f"template.{k}": getattr(catalog.template, k)
             for k in catalog.template.__dataclass_fields__}
    for section in catalog.sections:
        for sub in section.subsections:
            if sub.note:
                texts[f"note {sub.id}"] = sub.note
    texts.update({item.id: item.text for item in catalog.items})
    return texts


def test_lab_parts_are_placeholders_whose_defaults_are_the_seed_words():
    raw = _raw_texts()
    assert raw["3.2.1"] == "Service behind {reverse_proxy}"
    assert raw["8.4.1"] == "Service added to {inventory_system} inventory"
    assert raw["note 4.5"] == "See: {naming_doc}"
    seed = load_catalog()
    assert seed.item("3.2.1").text == "Service behind Nginx Proxy Manager (CT 102)"
    assert seed.item("8.1.1").text == \
        "Service documented in `/home/jramos/homelab/services/README.md`"
    assert seed.section("4").subsections[4].note == \
        "See: /home/jramos/homelab/scripts/security/CONTAINER_NAME_FIXES.md"
    shown = _shown_texts(seed)
    assert not [k for k, text in shown.items() if "{" in text], "a placeholder left unfilled"
    used = {name for text in raw.values() for name in lab_words.placeholders_in(text)}
    assert used == set(lab_words.PLACEHOLDERS), "a placeholder no text uses, or the reverse"


def test_every_text_naming_the_seed_lab_is_a_template():
    values = {name: f"<{name}>" for name in lab_words.PLACEHOLDERS}
    mine = _shown_texts(load_catalog(lab=values))
    left = {k: text for k, text in mine.items() if any(p in text for p in SEED_LAB_PARTS)}
    assert not left, f"texts that still name the seed author's lab: {left}"
    seed = _shown_texts(load_catalog())
    raw = _raw_texts()
    changed = {k for k in seed if seed[k] != mine[k]}
    assert changed == {k for k, text in raw.items() if lab_words.placeholders_in(text)}
    assert mine["3.2.1"] == "Service behind <reverse_proxy>"
    assert mine["template.archive_location"] == "<records_dir><service-name>-<date>.md"


def test_fill_keeps_doubled_braces_literal_and_names_unknown_placeholders():
    assert lab_words.fill("{{x}} {log_store}", {"log_store": "Loki"}) == "{x} Loki"
    assert lab_words.fill("{log_store}", {}) == "Loki"
    with pytest.raises(lab_words.UnknownPlaceholder, match=r"\{logstore\}.*\{log_store\}"):
        lab_words.fill("{logstore}", {})


# -- through the command line --------------------------------------------------------------



@pytest.fixture()
def overlaid(lab: Path) -> Path:
    config = lab / "labwarden.yaml"
    config.write_text(config.read_text() + LAB)
    (lab / "checklist-overlay.yaml").write_text(OVERLAY)
    return lab


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--today", TODAY])
    out, err = capsys.readouterr()
    return code, out, err


def checklist_json(capsys, service: str = "paperless") -> dict:
    code, out, err = run(capsys, "checklist", service, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def test_without_lab_or_overlay_the_checklist_is_the_seed(lab, capsys):
    report = checklist_json(capsys)
    items = {i["id"]: i for i in report["items"]}
    assert items["3.2.1"]["text"] == "Service behind Nginx Proxy Manager (CT 102)"
    assert len(items) == 225 and all(i["source"] == "seed" for i in items.values())
    assert report["catalogue"]["overlay"] is None
    assert re.fullmatch(r"seed checklist 1\.0 \(sha256 [0-9a-f]{12}\)",
                        report["catalogue"]["origin"])
    code, out, _ = run(capsys, "checklist", "paperless")
    assert out.rstrip().splitlines()[-1] == f"Catalogue: {report['catalogue']['origin']}"


def test_lab_words_fill_the_items(lab, capsys):
    config = lab / "labwarden.yaml"
    config.write_text(config.read_text() + LAB.replace("checklist:\n  overlay: "
                                                       "checklist-overlay.yaml\n", ""))
    items = {i["id"]: i for i in checklist_json(capsys)["items"]}
    assert items["3.2.1"]["text"] == "Service behind Traefik on proxy-01"
    assert items["6.3.3"]["text"] == "Grafana Cloud dashboard created for service"
    # a lab part that is an inventory service: shown with the host the inventory gives it
    assert items["6.1.3"]["text"] == "Logs forwarded to centralized logging (Grafana Loki " \
                                     "(docker-01))"
    assert items["8.4.1"]["text"] == "Service added to NetBox (CT 103) inventory"   # not set
    # without a host, its name alone
    config.write_text(config.read_text().replace(
        "compose_services: [grafana]\n    host: docker-01\n", "compose_services: [grafana]\n"))
    items = {i["id"]: i for i in checklist_json(capsys)["items"]}
    assert items["6.1.3"]["text"] == "Logs forwarded to centralized logging (Grafana Loki)"


def test_overlay_renames_disables_and_adds_in_every_report(overlaid, capsys):
    report = checklist_json(capsys)
    items = {i["id"]: i for i in report["items"]}
    renamed = items["3.2.1"]
    assert renamed["text"] == "Service behind Traefik on proxy-01 with the " \
                              "`secure-chain@file` middleware"
    assert renamed["seed_text"] == "Service behind Nginx Proxy Manager (CT 102)"
    disabled = items["3.1.5"]
    assert disabled["status"] == "N/A" and disabled["disabled"].startswith("the database host")
    assert "the database host is on an isolated VLAN" in disabled["note"]
    assert disabled["findings"], "the audit's findings stay attached to a disabled item"
    added = items["L1.1.1"]
    assert (added["status"], added["source"], added["severity"]) == ("OPEN", "overlay", "HIGH")
    assert items["L1.1.2"]["severity"] == "LOW"
    assert list(items)[-2:] == ["L1.1.1", "L1.1.2"]
    assert report["score"]["sections"]["L1"]["total"] == 2
    # the disabled items are out of the score: 225 seed + 2 added, 2 disabled among the N/A
    assert report["score"]["total"] + report["score"]["na"] == 227
    assert "3.1.5" not in " ".join(report["reasons"])
    catalogue = report["catalogue"]
    assert catalogue["overlay"] == "checklist-overlay.yaml"
    assert re.fullmatch(r"[0-9a-f]{12}", catalogue["overlay_sha256"])
    assert catalogue["origin"].endswith(f"+ overlay checklist-overlay.yaml "
                                        f"(sha256 {catalogue['overlay_sha256']})")

    code, out, _ = run(capsys, "checklist", "paperless")
    assert code == 0
    assert "Service behind Traefik on proxy-01 with the `secure-chain@file` middleware" in out
    assert "→ disabled by the checklist overlay: No hypervisor firewall here" in out
    assert "L1. Lab-specific controls  0/2 (0.0 %)" in out
    assert re.search(r"L1\.1\.1 +OPEN +HIGH +Reachable only through", out)
    assert f"Catalogue: {catalogue['origin']}" in out

    code, out, _ = run(capsys, "checklist", "paperless", "--format", "markdown")
    assert f"Catalogue: {catalogue['origin']}" in out
    assert re.search(r"- \[-\] Database ports .*\(3\.1\.5, CRITICAL, N/A\)\*\n  - disabled by "
                     r"the checklist overlay: the database host is on an isolated VLAN", out)
    assert "## L1. Lab-specific controls" in out and "### L1.1 Remote access" in out

    code, out, _ = run(capsys, "gate", "paperless", "--format", "json")
    gate = json.loads(out)
    assert gate["catalogue"] == catalogue and "3.1.5" not in gate["blocking_items"]
    assert "L1.1.1" in gate["blocking_items"]      # an added HIGH item holds the risk up too

    code, out, _ = run(capsys, "archive", "paperless")
    assert code == 0
    record = (overlaid / "records" / "paperless-20261127.md").read_text()
    assert f"Catalogue: {catalogue['origin']}" in record
    assert "disabled by the checklist overlay: No hypervisor firewall here" in record
    assert "*(L1.1.1, HIGH, OPEN)*" in record


def test_the_digest_follows_the_overlay(overlaid, capsys):
    before = checklist_json(capsys)["catalogue"]["overlay_sha256"]
    path = overlaid / "checklist-overlay.yaml"
    path.write_text(path.read_text().replace("Exit node disabled", "Exit node off"))
    assert checklist_json(capsys)["catalogue"]["overlay_sha256"] != before


def test_added_items_are_attested_and_disabled_ones_refused(overlaid, capsys):
    code, out, _ = run(capsys, "attest", "paperless", "L1.1.1", "--by", "jdoe", "--note", "ACL")
    assert code == 0 and "paperless: attested L1.1.1 by jdoe" in out
    code, _, _ = run(capsys, "attest", "paperless", "L1.1.2", "--by", "jdoe", "--na", "no exit")
    assert code == 0
    items = {i["id"]: i for i in checklist_json(capsys)["items"]}
    assert items["L1.1.1"]["status"] == "ATTESTED" and items["L1.1.2"]["status"] == "N/A"
    code, _, err = run(capsys, "attest", "paperless", "3.4.1", "--by", "jdoe")
    assert code == 2 and "3.4.1 is disabled by the checklist overlay (No hypervisor" in err


BAD_OVERLAYS = [
    ("unknown key", "renam:\n  '3.2.1': x\n", 1, "unknown key `renam` in the overlay; did you "
     "mean `rename`?"),
    ("unknown item", "disable:\n  '3.2.10': not here\n", 2, "disable 3.2.10: no such checklist "
     "item; did you mean 3.2.1?"),
    ("seed ID added", "add:\n  '3':\n    title: Mine\n", 2, "add 3: the overlay's sections are "
     "L1 to L99"),
    ("colliding add", "add:\n  L1:\n    title: a\n    subsections:\n      L1.1:\n        title:"
     " b\n        items:\n          L1.1.1: {text: a, severity: LOW, reason: r}\n          "
     "L1.1.1: {text: b, severity: LOW, reason: r}\n", 9, "key 'L1.1.1' is defined twice"),
    ("misplaced add", "add:\n  L1:\n    title: a\n    subsections:\n      L1.1:\n        title:"
     " b\n        items:\n          L1.2.1: {text: a, severity: LOW, reason: r}\n", 8,
     "add L1.2.1: items of L1.1 are L1.1.1 to L1.1.99"),
    ("disable without reason", "disable:\n  '3.4.1':\n", 2, "disable 3.4.1: give the reason"),
    ("item key typo", "add:\n  L1:\n    title: a\n    subsections:\n      L1.1:\n        title:"
     " b\n        items:\n          L1.1.1:\n            text: a\n            severity: LOW\n"
     "            reason: r\n            optinal: true\n", 12, "unknown key `optinal` in add "
     "L1.1.1; did you mean `optional`?"),
    ("automated added item", "add:\n  L1:\n    title: a\n    subsections:\n      L1.1:\n       "
     " title: b\n        items:\n          L1.1.1:\n            text: a\n            severity: "
     "LOW\n            reason: r\n            automated_by: compose\n", 12,
     "automated_by must be none"),
    ("unknown placeholder", "rename:\n  '3.2.1': behind {revers_proxy}\n", 2,
     "rename 3.2.1: the new text: unknown placeholder {revers_proxy}; did you mean "
     "{reverse_proxy}?"),
    ("rename of an added item", "rename:\n  L1.1.1: x\n", 2, "the overlay's own items are "
     "changed where `add` defines them"),
    ("bad YAML", "rename: [\n", 2, "YAML syntax error"),
    ("not a mapping", "- 3.2.1\n", 1, "the overlay must be a mapping"),
]


@pytest.mark.parametrize("text, line, message", [b[1:] for b in BAD_OVERLAYS],
                         ids=[b[0] for b in BAD_OVERLAYS])
def test_a_bad_overlay_is_one_line_with_its_place_and_exit_2(overlaid, capsys, text, line,
                                                              message):
    (overlaid / "checklist-overlay.yaml").write_text(text)
    for command in (("checklist", "paperless"), ("gate", "paperless")):
        code, out, err = run(capsys, *command)
        assert code == 2 and not out
        assert err.count("\n") == 1, err
        assert err.startswith(f"labwarden: configuration error: "
                              f"{overlaid / 'checklist-overlay.yaml'}:{line}: "), err
        assert message in err
        assert "Traceback" not in err


def test_every_overlay_problem_is_reported_at_once(overlaid, capsys):
    (overlaid / "checklist-overlay.yaml").write_text(
        "rename:\n  '3.2.10': x\ndisable:\n  '3.4.1':\n  '99.1.1': y\n")
    code, _, err = run(capsys, "checklist", "paperless")
    lines = err.splitlines()
    assert code == 2
    assert [int(re.search(r"\.yaml:(\d+): ", line).group(1)) for line in lines] == [2, 4, 5]


def test_config_errors_of_lab_and_overlay_name_their_line(lab, capsys):
    config = lab / "labwarden.yaml"
    text = config.read_text()
    config.write_text(text + "lab:\n  revers_proxy: Traefik\n")
    code, _, err = run(capsys, "checklist", "paperless")
    assert code == 2 and "unknown key `lab.revers_proxy`; did you mean `reverse_proxy`?" in err
    line = len(text.splitlines()) + 2
    assert f"labwarden.yaml:{line}:" in err
    config.write_text(text + "lab:\n  reverse_proxy: {service: traefk}\n")
    code, _, err = run(capsys, "checklist", "paperless")
    assert code == 2 and "`lab.reverse_proxy`: no service 'traefk' in the inventory" in err
    config.write_text(text + "checklist:\n  overlay: missing.yaml\n")
    code, _, err = run(capsys, "checklist", "paperless")
    assert code == 2 and f"labwarden.yaml:{line}: checklist overlay 'missing.yaml' does " \
                         "not exist" in err


def test_the_html_report_shows_the_overlay_sections(overlaid, capsys, tmp_path):
    out = tmp_path / "report.html"
    code = main(["audit", ".", "--format", "html", "-o", str(out)])
    capsys.readouterr()
    assert code in (0, 1) and "Lab-specific controls" in out.read_text()
