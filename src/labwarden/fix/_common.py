"""Helpers the fixers share: find the service a finding is about, in the file it points at."""

from __future__ import annotations

from ruamel.yaml.comments import CommentedMap

from labwarden.fix import service_name
from labwarden.fix.yamledit import Document, Skip, own

# Where new service keys go: after the first of these the service has (else at its end).
AFTER_IDENTITY = ("restart", "container_name", "image", "build")


def service_of(doc: Document, finding) -> tuple[str, CommentedMap]:
    name = service_name(finding)
    if not name:
        raise Skip("the finding is not about a Compose service")
    return name, doc.service(name)


def require_service_line(doc: Document, finding, name: str) -> None:
    """A key is added to the service the finding points at, nowhere else: when the finding
    points at another line (into an anchor, another file's definition), leave it."""
    services = own(doc.root, "services")
    line = doc.key_line(services, name)
    if finding.location.line and line != finding.location.line:
        raise Skip(f"the finding points at line {finding.location.line}, not at service "
                   f"`{name}` (line {line}); fix it there by hand")


def has_variable(value) -> bool:
    return isinstance(value, str) and "$" in value.replace("$$", "")
