"""No secret and no finding text in any metric or label: the exposition the exporter serves
and the series Prometheus stored are searched for the canaries planted in the lab (a secret
in paperless.env, a person's note), for every finding's message, evidence, ID and rule, and
the label names and values are held to the few the metrics are allowed."""

from __future__ import annotations

import json
import re

from .conftest import NOTE_CANARY, SECRET_CANARY, SERVICES, labwarden

LABELS = {"__name__", "job", "instance", "service", "host", "severity", "status", "level",
          "readable", "version", "alertname", "alertstate"}
VALUES = {"severity": {"CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"},
          "status": {"PASS", "FAIL", "ATTESTED", "N/A", "OPEN"},
          "level": {"Low", "Medium", "High", "Unacceptable"},
          "readable": {"true", "false"}, "service": set(SERVICES), "host": {"docker-01"}}


def _finding_texts(lab) -> list[str]:
    done = labwarden(lab.root, "audit", ".", "--format", "json")
    report = json.loads(done.stdout)
    assert report["findings"], "the example lab has findings to leak"
    texts = set()
    for finding in report["findings"]:
        texts.add(finding["id"])                      # CRITICAL-001…
        texts.add(finding["rule_id"])
        for key in ("message", "evidence", "title", "resource"):
            value = finding.get(key)
            if isinstance(value, str) and len(value) >= 16:     # not a bare word
                texts.add(value)
    return sorted(texts)


def test_the_exposition_holds_no_secret_note_or_finding_text(lab, exporter) -> None:
    text = exporter.text()
    assert "labwarden_service_score" in text
    for canary in (SECRET_CANARY, NOTE_CANARY, "CANARY"):
        assert canary not in text
    leaked = [t for t in _finding_texts(lab) if t in text]
    assert leaked == []
    assert not re.search(r"\b(CRITICAL|HIGH|MEDIUM|LOW|INFO)-\d{3}\b", text)   # finding IDs
    assert not re.search(r"\b[A-Z]{3}\d{3}\b", text)                           # rule IDs


def test_every_label_is_a_name_from_a_closed_set(exporter, prometheus) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(exporter.text()):
        for sample in family.samples:
            assert set(sample.labels) <= LABELS, sample
            for name, value in sample.labels.items():
                if name in VALUES:
                    assert value in VALUES[name], sample
    # And what Prometheus stored of it (its own ALERTS series carry the rules' labels).
    ours = {"match[]": '{__name__=~"labwarden_.*"}'}
    names = prometheus.get("/api/v1/labels", **ours)
    assert {"service", "host", "severity", "level"} <= set(names) <= LABELS
    for name, allowed in VALUES.items():
        stored = set(prometheus.get(f"/api/v1/label/{name}/values", **ours))
        assert stored == allowed, name
    stored = " ".join(prometheus.get("/api/v1/label/__name__/values"))
    assert "CANARY" not in stored
