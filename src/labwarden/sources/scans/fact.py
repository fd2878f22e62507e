"""`ImageScan`: what the lab's scan reports say about the image one Compose service runs.

One fact per (Compose service, image) of the audited tree once any scan report is
configured: `report` is the newest report about that image (matched by normalised
reference or by repo digest), or None when no report covers it (then nothing is proven).
The fact is kept with the lab-wide origin and names its inventory service with
`belongs_to`, like a proxy host: a report sits in one place and is about services
anywhere in the tree.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from labwarden.model import Location
from labwarden.sources.scans.policy import DEFAULT, Ignore, ScanPolicy, same_image
from labwarden.sources.scans.report import ScanReport, Vulnerability, parse_time


@dataclass
class ImageScan:
    directory: str                  # the Compose project directory, absolute
    project: str                    # as labwarden names it (`compose:<project>`)
    service: str                    # the Compose service
    image: str                      # as the Compose file writes it
    where: Location                 # the service in its Compose file
    report: ScanReport | None
    read_at: dt.datetime            # when labwarden read the report: ages count from it
    report_at: Location | None = None   # where findings about the report point (its file)
    # The policy it is judged under (labwarden.yaml `scans:`): the stage sets it, so a fact
    # carries its own max_age and ignores into the rules and the checklist.
    policy: ScanPolicy = DEFAULT

    @property
    def asset(self) -> str:
        # The Compose service's own asset (a service runs one image): its findings join the
        # service's others, and updating the image is the service's one redeploy.
        return f"compose:{self.project}/{self.service}"

    @property
    def location(self) -> Location:
        if self.report is None:
            return self.where
        return self.report_at or self.report.location

    def age(self) -> dt.timedelta | None:
        if self.report is None or self.report.created is None:
            return None
        return self.read_at - self.report.created

    def belongs_to(self, service) -> bool:
        """Whether it is one of the Compose services of an inventory service."""
        directory = getattr(service, "compose_dir", None)
        if not directory or os.path.abspath(directory) != self.directory:
            return False
        wanted = getattr(service, "compose_services", ())
        return not wanted or self.service in wanted


def report_matches(report: ScanReport, image: str) -> bool:
    """The report is about `image`: the same reference after normalisation, or the
    Compose image is pinned by a digest the report lists among the image's repo digests."""
    if same_image(report.image, image):
        return True
    _, at, digest = image.partition("@")
    return bool(at) and digest in report.digests


def facts_from_yaml(path: str) -> list[ImageScan]:
    """Scans described in a fixture: a YAML list of `{image, service, project, read_at,
    report: {tool, age or created, image, digests, vulnerabilities: [{id, package,
    installed, fixed, severity, published or published_age}]}, max_age, ignore: [{id,
    image, reason, expires}]}`; without `report:` the image has none. Ages (14d, 36h)
    count back from `read_at` (default 2026-12-01T12:00:00Z). Each fact is located at
    its item's line."""
    from labwarden.sources.backup.config import parse_duration
    from labwarden.sources.sshd_config import yaml_items

    def moment(item: dict, key: str, age_key: str, now: dt.datetime) -> dt.datetime | None:
        if item.get(key) is not None:
            return parse_time(str(item[key]))
        if item.get(age_key) is None:
            return None
        span = parse_duration(str(item[age_key]))
        if span is None:
            raise ValueError(f"{path}: {age_key} {item[age_key]!r} is not a duration")
        return now - span

    facts = []
    for line, item in yaml_items(path):
        now = parse_time(str(item.get("read_at", "2026-12-01T12:00:00Z")))
        assert now is not None
        image = str(item.get("image", "nginx:1.27.3"))
        where = Location(path, line)
        report = None
        if item.get("report") is not None:
            spec = item["report"] or {}
            vulns = tuple(Vulnerability(
                str(v["id"]), str(v.get("package", "pkg")), str(v.get("installed", "1.0")),
                str(v.get("fixed") or ""), str(v.get("severity", "HIGH")).upper(),
                moment(v, "published", "published_age", now))
                for v in spec.get("vulnerabilities") or [])
            report = ScanReport(path, str(spec.get("tool", "trivy")),
                                str(spec.get("image", image)), tuple(spec.get("digests") or ()),
                                moment({"age": "1d", **spec}, "created", "age", now), vulns)
        policy = ScanPolicy(max_age=parse_duration(str(item.get("max_age", "14d")))
                            or DEFAULT.max_age,
                            ignores=tuple(Ignore(str(i["id"]), i.get("image"), str(i["reason"]),
                                                 dt.date.fromisoformat(str(i["expires"]))
                                                 if i.get("expires") else None, where)
                                          for i in item.get("ignore") or ()))
        facts.append(ImageScan("/lab/" + str(item.get("project", "app")),
                               str(item.get("project", "app")), str(item.get("service", "app")),
                               image, where, report, now, report_at=where, policy=policy))
    return facts
