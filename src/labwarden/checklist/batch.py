"""`labwarden attest --from FILE`: many answers, for any scopes, in one file, one audit and
one write. The file is a list of entries:

    - scope: lab                          # or `host NAME`, `group NAME`, `service NAME`
      items:
        "5.1.1": {note: PBS backs up every guest nightly, evidence: "https://wiki/pbs"}
        "6.1": {note: promtail ships every container's logs to Loki}     # a subsection
    - scope: service n8n
      items:
        "1.3.1": {na: no SSO in this lab}                  # optional items only
        "1.2.1-1.2.3": {note: TOTP for every account, expires: 2027-06-30}

Item keys are read as `attest` reads items (an ID, a range, a subsection); each value takes
`note`, `evidence`, `expires` and `na`. The person is `--by`, the date today. It is checked
as the attestation file is: an unknown key with the closest known one, a date that is not
one, an expiry already past, a scope or item that does not exist, an item named twice for
one scope, N/A for an item that is not optional — each an error at its line, and nothing is
written.
"""

from __future__ import annotations

import datetime as dt

from labwarden.checklist.attest import (Attestation, Scope, _date, _known_keys, _text,
                                        parse_scope, unknown_scope)
from labwarden.checklist.catalog import Catalog
from labwarden.checklist.selection import select
from labwarden.config import ConfigError, read_documents
from labwarden.inventory import Inventory
from labwarden.model import Location
from labwarden.sources.yamlfile import Map, Seq

ENTRY_KEYS = ("scope", "items")
ANSWER_KEYS = ("note", "evidence", "expires", "na")


def load_batch(path: str, catalog: Catalog, inventory: Inventory, by: str,
               today: dt.date) -> list[tuple[Scope, Attestation]]:
    documents = read_documents(path)
    data = documents[0] if documents else None
    if not isinstance(data, Seq) or not data:
        raise ConfigError("an attest file is a list of entries, each `- scope: …` with "
                          "`items:`", Location(path, 1))
    answers: list[tuple[Scope, Attestation]] = []
    where: dict[tuple[Scope, str], Location | None] = {}
    for index, entry in enumerate(data):
        loc = data.loc_of(index)
        if not isinstance(entry, Map):
            raise ConfigError("each entry is a mapping with `scope:` and `items:`", loc)
        _known_keys(entry, ENTRY_KEYS, "the entry")
        scope = _scope(entry, inventory, loc)
        items = entry.get("items")
        if not isinstance(items, Map) or not items:
            raise ConfigError(f"entry for {scope} needs `items:`, a mapping of item IDs to "
                              "{note, evidence, expires, na}", entry.loc_of("items"))
        for key, spec in items.items():
            here = items.loc_of(key)
            try:
                chosen = select(catalog, str(key))
            except ValueError as exc:
                raise ConfigError(str(exc), here) from None
            values = _answer(spec, str(key), here, today)
            for item in chosen:
                if (scope, item.id) in where:
                    raise ConfigError(f"{item.id} is answered twice for {scope} (first at "
                                      f"{where[scope, item.id]})", here)
                where[scope, item.id] = here
                if values["na"] and not item.optional:
                    raise ConfigError(f"{item.id} is not marked optional in the checklist: "
                                      "it cannot be answered N/A (attest what was done "
                                      "instead)", here)
                answers.append((scope, Attestation(item.id, by, today.isoformat(),
                                                   location=here, scope=scope.label,
                                                   **values)))
    return answers


def _scope(entry: Map, inventory: Inventory, loc: Location | None) -> Scope:
    text = entry.get("scope")
    if text is None or isinstance(text, (Map, Seq)):
        raise ConfigError("each entry needs `scope:` (lab, host NAME, group NAME or service "
                          "NAME)", entry.loc_of("scope") if text is not None else loc)
    try:
        scope = parse_scope(str(text))
    except ValueError as exc:
        raise ConfigError(str(exc), entry.loc_of("scope")) from None
    problem = unknown_scope(scope, inventory)
    if problem:
        raise ConfigError(problem, entry.loc_of("scope"))
    return scope


def _answer(spec, key: str, loc: Location | None, today: dt.date) -> dict:
    if spec is None:
        spec = Map()
    if not isinstance(spec, Map):
        raise ConfigError(f"the answer for {key} must be a mapping ({', '.join(ANSWER_KEYS)}), "
                          "e.g. {note: what was checked}", loc)
    for name in spec:
        if name not in ANSWER_KEYS and " " in str(name):
            # `{note: a, b}` reads `b` as a key: the likely mistake, said as such.
            raise ConfigError(f"unknown key {name!r} in the answer for {key}: a comma inside "
                              "`{…}` ends a value; put text with commas in quotes",
                              spec.loc_of(name))
    _known_keys(spec, ANSWER_KEYS, f"the answer for {key}")
    values = {k: _text(spec, k) for k in ("note", "evidence", "na")}
    expires = _date(spec.get("expires"), spec.loc_of("expires"), "expires")
    if expires and dt.date.fromisoformat(expires) < today:
        raise ConfigError(f"expires {expires} is in the past (today is {today.isoformat()}): "
                          "an expired attestation answers nothing", spec.loc_of("expires"))
    values["expires"] = expires
    return values
