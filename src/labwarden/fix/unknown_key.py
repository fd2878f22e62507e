"""CMP001 unknown-compose-key → rename the misspelled key to the one Compose defines
(behaviour-changing: `read-only: true` did nothing, `read_only: true` makes the root
filesystem read-only; applied only with `--rule`).

Only a finding with a suggestion is fixed; the key keeps its place, value and comments. When
the mapping already has the suggested key, the two must be reconciled by hand.
"""

from __future__ import annotations

import re

from labwarden.fix.yamledit import Document, Skip, rename_key

_SUGGESTION = re.compile(r"rename `(?P<old>[^`]+)` to `(?P<new>[^`]+)`")


def fix(doc: Document, finding, context) -> str:
    match = _SUGGESTION.fullmatch(finding.fix.strip())
    if not match:
        raise Skip("no key is suggested: remove it, or prefix it with `x-` if it is deliberate")
    old, new = match.group("old"), match.group("new")
    line = finding.location.line
    found = [mapping for _, mapping in doc.mappings()
             if old in mapping._ok and doc.key_line(mapping, old) == line]
    if len(found) != 1:
        raise Skip(f"no single `{old}` key at line {line}")
    mapping = found[0]
    if doc.index.shared(mapping):
        raise Skip(f"`{old}` is inside an anchor used elsewhere; rename it there by hand")
    if new in mapping:
        raise Skip(f"`{new}` is set too; keep one of them by hand")
    rename_key(mapping, old, new)
    doc.touch_node(mapping, old)
    doc.touch_node(mapping, new)
    # The key starts to work: the container changes (a `read-only` that did nothing becomes
    # `read_only: true`), so say what to look at once it is recreated.
    return f"renamed `{old}` to `{new}`: it takes effect when the container is recreated; " \
           f"check afterwards that the service starts and works with `{new}` in force " \
           "(`docker compose up -d`, then `docker compose ps` and its logs)"
