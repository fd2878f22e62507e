"""What a worker process sends its parent comes back as it was: findings field by field,
their fingerprints (hashed in the worker, not again in the parent) and diagnostics."""

from __future__ import annotations

from pathlib import Path

from labwarden.audit.compose import AuditOptions, _audit_specs, _receive, _send
from labwarden.sources.compose.discover import discover

STACK = """services:
  db:
    image: postgres:16
    privileged: true
    ports: ["5432:5432"]
    environment:
      POSTGRES_PASSWORD: correct-horse-battery
  web:
    image: nginx
    volumes: ["/var/run/docker.sock:/var/run/docker.sock"]
"""


def test_a_workers_share_comes_back_as_it_was(tmp_path: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "compose.yaml").write_text(STACK)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "compose.yaml").write_text("services: [\n")
    partial = _audit_specs(discover([str(tmp_path)], []), AuditOptions())
    expected = [(f._values(), f.fingerprint) for f in partial.findings]
    diagnostics = list(partial.diagnostics)
    assert len(expected) > 5 and diagnostics

    received = _receive(_send(partial))
    assert all(f._fingerprint is not None for f in received.findings)   # hashed, sent along
    assert [(f._values(), f.fingerprint) for f in received.findings] == expected
    assert received.diagnostics == diagnostics
    # The fingerprint a worker hashed belongs to the finding as it was: once what it is
    # made of changes, it is hashed again, as for any finding.
    moved = received.findings[0]
    before = moved.fingerprint
    moved.asset += "-renamed"
    assert moved.fingerprint != before
    moved.asset = moved.asset.removesuffix("-renamed")
    assert moved.fingerprint == before


def test_the_shares_cover_every_project_once_in_order() -> None:
    """The parent audits a slightly larger share (its results need not be sent); every
    project is audited once, and each share keeps the projects' order."""
    from labwarden.audit.compose import _shares

    for count, jobs in ((1076, 2), (1076, 4), (48, 2), (7, 3), (0, 2)):
        shares = _shares(list(range(count)), jobs)
        assert len(shares) == jobs
        assert sorted(sum(shares, [])) == list(range(count))
        assert all(share == sorted(share) for share in shares)
    parent, worker = map(len, _shares(list(range(1076)), 2))
    assert worker < parent < worker * 1.1
