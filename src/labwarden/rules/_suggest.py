"""Did-you-mean for a rule reference that names no rule (`labwarden rule COMP01`, a waiver's
`rule:`, `rules.disable`), from the table of IDs and names (`rules._index`): no rule module
is imported to say what was meant.
"""

from __future__ import annotations

import difflib
import re

# `COMP01`, `cmp-1`, `SEC 2`: letters, then a number, as an ID is written loosely.
_ID_LIKE = re.compile(r"([A-Za-z]+)[-_ ]?0*(\d{1,3})")


def close_rules(ref: str, n: int = 3) -> list[str]:
    """The IDs of up to `n` rules `ref` may have meant, the likeliest first."""
    from labwarden.rules._index import RULES

    text = ref.strip()
    ids = list(RULES)
    by_name = {name: rule_id for rule_id, name in RULES.items()}
    found: list[str] = []
    loose = _ID_LIKE.fullmatch(text)
    if loose:
        # The letters are the source (CMP, SEC, TLS…), the number the rule: COMP01 is
        # CMP001 rather than the CMP091 that a plain string likeness ranks first.
        prefixes = sorted({rule_id[:3] for rule_id in ids})
        letters = loose.group(1).upper()
        for prefix in [letters] if letters in prefixes else \
                difflib.get_close_matches(letters, prefixes, 2, 0.5):
            candidate = f"{prefix}{int(loose.group(2)):03d}"
            if candidate in RULES:
                found.append(candidate)
    found += difflib.get_close_matches(text.upper(), ids, n, 0.6)
    lowered = text.lower()
    found += [by_name[name] for name in difflib.get_close_matches(lowered, list(by_name), n, 0.6)]
    if len(lowered) >= 4:                      # `socket` -> docker-socket-mounted
        found += [rule_id for name, rule_id in by_name.items() if lowered in name]
    return list(dict.fromkeys(found))[:n]


def did_you_mean(ref: str) -> str:
    """`; did you mean CMP001 (unknown-compose-key)?`, or "" when nothing is close."""
    from labwarden.rules._index import RULES

    close = close_rules(ref)
    if not close:
        return ""
    return "; did you mean " + " or ".join(f"{c} ({RULES[c]})" for c in close) + "?"


def no_rule(ref: str) -> str:
    """What to say of a rule reference that names no rule: `no rule 'COMP01'; did you mean
    CMP001 (unknown-compose-key)?`, or where to look when nothing is close."""
    return f"no rule {ref!r}{did_you_mean(ref) or '; `labwarden rules` lists them'}"
