"""Which checklist items a person names: an item (`1.4.1`), a range in catalogue order
(`1.4.1-1.4.7`) or a whole subsection (`1.4`). `attest` and `attest --from` read them the
same way; a name that matches nothing says which ID is closest. Items the overlay disables
are left out of a range or subsection, and refused when named: there is nothing to attest."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from labwarden.checklist.catalog import Catalog, Item


def select_items(catalog: Catalog, texts: Iterable[str]) -> list[Item]:
    """The items `texts` name, in the order named, each once. ValueError says which text
    names nothing and what is closest."""
    chosen: dict[str, Item] = {}
    for text in texts:
        for item in select(catalog, text):
            chosen.setdefault(item.id, item)
    return list(chosen.values())


def select(catalog: Catalog, text: str) -> list[Item]:
    chosen = [item for item in _named(catalog, str(text).strip()) if not item.disabled]
    if not chosen:
        raise ValueError(f"every item of {text} is disabled by the checklist overlay: there "
                         "is nothing to attest")
    return chosen


def _named(catalog: Catalog, text: str) -> list[Item]:
    first, dash, last = text.partition("-")
    if dash:
        start, end = _item(catalog, first.strip()), _item(catalog, last.strip())
        order = list(catalog.items_by_id)
        low, high = order.index(start.id), order.index(end.id)
        if low > high:
            raise ValueError(f"range {text!r} runs backwards ({start.id} comes after {end.id} "
                             "in the checklist)")
        return [catalog.items_by_id[i] for i in order[low:high + 1]]
    if text.count(".") == 1:
        for section in catalog.sections:
            for subsection in section.subsections:
                if subsection.id == text:
                    return list(subsection.items)
        subsections = [sub.id for section in catalog.sections for sub in section.subsections]
        raise ValueError(f"no checklist subsection {text!r}{_closest(text, subsections)}")
    item = _item(catalog, text)
    if item.disabled:
        raise ValueError(f"{item.id} is disabled by the checklist overlay ({item.disabled}): "
                         "there is nothing to attest")
    return [item]


def _item(catalog: Catalog, text: str) -> Item:
    item = catalog.items_by_id.get(text)
    if item is None:
        raise ValueError(f"no checklist item {text!r}{_closest(text, catalog.items_by_id)}"
                         " (an item `1.4.1`, a range `1.4.1-1.4.7` or a subsection `1.4`)")
    return item


def _closest(text: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(text, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def compact(item_ids: list[str], catalog: Catalog) -> str:
    """`1.4.1-1.4.7, 2.1.3`: runs of three or more consecutive items as a range."""
    order = {item_id: index for index, item_id in enumerate(catalog.items_by_id)}
    ids = sorted(dict.fromkeys(item_ids), key=lambda i: order.get(i, len(order)))
    parts: list[str] = []
    run: list[str] = []
    for item_id in ids + [""]:
        if run and item_id and order.get(item_id) == order.get(run[-1], -2) + 1:
            run.append(item_id)
            continue
        if len(run) >= 3:
            parts.append(f"{run[0]}-{run[-1]}")
        else:
            parts += run
        run = [item_id] if item_id else []
    return ", ".join(parts)
