"""Redaction: every piece of evidence that may hold a secret goes through here.

A finding shows enough to find the value (its name, its length, for long values its first
two characters) and never enough to use it. Short values get no prefix: two characters of
a five-character default password is most of it.
"""

from __future__ import annotations

import re

_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):"
                              r"(?P<password>[^@/\s]+)@")


def redact(value: str | None) -> str:
    if value is None:
        return "(unset)"
    length = len(value)
    if length == 0:
        return "(empty)"
    if length < 8:
        return f"…({length} chars)"
    return f"{value[:2]}…({length} chars)"


def redact_assignment(name: str, value: str | None) -> str:
    return f"{name}={redact(value)}"


def redact_url(text: str) -> str:
    """`postgres://app:s3cret@db/app` → `postgres://app:…(6 chars)@db/app`."""
    return _URL_CREDENTIALS.sub(
        lambda m: f"{m.group('scheme')}{m.group('user')}:{redact(m.group('password'))}@", text)


def url_password(text: str) -> str | None:
    match = _URL_CREDENTIALS.search(text)
    return match.group("password") if match else None
