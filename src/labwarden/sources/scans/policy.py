"""The lab's scan policy, `scans:` in labwarden.yaml:

    scans:
      reports: [scans/*.json]          # globs, relative to labwarden.yaml
      max_age: 14d                     # an older report is stale
      ignore:
        - {id: CVE-2024-1234, image: nginx:1.27, reason: "not reachable", expires: 2027-01-31}

An ignore needs a reason; without `image` it applies to every image; past `expires` it is
counted again (and IMG013 says so).
"""

from __future__ import annotations

import datetime as dt
import glob
import os
from dataclasses import dataclass, field

from labwarden.knowledge.imageref import parse_image
from labwarden.model import Location

DEFAULT_MAX_AGE = dt.timedelta(days=14)


class ScanPolicyError(ValueError):
    def __init__(self, message: str, location: Location | None):
        super().__init__(message)
        self.location = location


@dataclass(frozen=True)
class Ignore:
    id: str
    image: str | None
    reason: str
    expires: dt.date | None
    location: Location | None = None

    def covers(self, vulnerability_id: str, image: str) -> bool:
        return vulnerability_id.upper() == self.id.upper() and (
            self.image is None or same_image(self.image, image))

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and today > self.expires


@dataclass(frozen=True)
class ScanPolicy:
    reports: tuple[str, ...] = ()               # globs, absolute
    max_age: dt.timedelta = DEFAULT_MAX_AGE
    ignores: tuple[Ignore, ...] = field(default_factory=tuple)

    def report_files(self) -> list[str]:
        found: list[str] = []
        for pattern in self.reports:
            matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
            found.extend(m for m in matches if m not in found)
        return found


DEFAULT = ScanPolicy()


def same_image(a: str, b: str) -> bool:
    """Whether two image references name the same image after normalisation (docker.io,
    library/, an absent tag meaning latest); a digest on both sides must agree."""
    left, right = parse_image(a), parse_image(b)
    if left is None or right is None:
        return a == b
    if (left.registry, left.repository) != (right.registry, right.repository):
        return False
    if left.digest and right.digest:
        return left.digest == right.digest
    if (left.digest or right.digest) and not (left.tag and right.tag):
        return False        # one is pinned by digest only: a tag says nothing about it
    return (left.tag or "latest") == (right.tag or "latest")


def read(section, config_path: str) -> ScanPolicy:
    """`scans:` of labwarden.yaml (the schema checked the types)."""
    from labwarden.sources.backup.config import parse_duration

    base = os.path.dirname(os.path.abspath(config_path))
    reports = section.get("reports") or ()
    if isinstance(reports, str):
        reports = (reports,)
    max_age = DEFAULT_MAX_AGE
    if section.get("max_age") is not None:
        parsed = parse_duration(section["max_age"])
        if parsed is None:
            raise ScanPolicyError(f"scans.max_age: {section['max_age']!r} is not a duration "
                                  "(14d, 2w, 36h)", _loc(section, "max_age", config_path))
        max_age = parsed
    ignores = []
    entries = section.get("ignore") or ()
    for index, entry in enumerate(entries):
        where = _loc(entries, index, config_path)
        reason = str(entry.get("reason") or "").strip()
        if not entry.get("id"):
            raise ScanPolicyError("scans.ignore: an entry without `id`", where)
        if not reason:
            raise ScanPolicyError(f"scans.ignore: {entry['id']} needs a `reason`", where)
        expires = None
        if entry.get("expires") is not None:
            try:
                expires = dt.date.fromisoformat(str(entry["expires"]))
            except ValueError:
                raise ScanPolicyError(f"scans.ignore: expires {entry['expires']!r} is not "
                                      "a date (YYYY-MM-DD)", where) from None
        ignores.append(Ignore(str(entry["id"]), str(entry["image"]) if entry.get("image")
                              else None, reason, expires, where))
    return ScanPolicy(tuple(os.path.join(base, str(r)) for r in reports), max_age,
                      tuple(ignores))


def _loc(node, key, path: str) -> Location | None:
    loc_of = getattr(node, "loc_of", None)
    return loc_of(key) if loc_of else Location(path, 0)
