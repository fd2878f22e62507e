"""Provers made from a rule's own check: "this rule looked at a fact it could read
completely and found nothing about the item" is positive evidence when the rule is about
the *absence* of something (a privileged flag, a mounted socket, a weak cipher) and the
fact is complete. `complete` says what complete means for the fact (a Compose service
Compose could run, an HTTP answer that arrived, a TLS scan that was not cut short): a rule
that bails out on what it cannot judge is silent too, and that silence proves nothing.

Items whose evidence is the *presence* of something (a healthcheck, a memory limit,
`PermitRootLogin no`) have provers of their own that read the fact, next to their rule.
"""

from __future__ import annotations

from collections.abc import Callable

from labwarden.rules.registry import _RULES, prover

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any


def quiet(fact, settings, rule_ids: tuple[str, ...], item: str) -> bool:
    """None of `rule_ids` reports anything about `item` on `fact`."""
    for rule_id in rule_ids:
        for hit in _RULES[rule_id].check(fact, settings):
            if hit.checklist is None or item in hit.checklist:
                return False
    return True


def by_silence(rule_id: str, *items: str, note: str | Callable[[Any], str],
               complete: Callable[[Any], bool], also: tuple[str, ...] = ()) -> None:
    """Register, for each of `items`, a prover that holds when the fact is complete and
    `rule_id` (and the rules in `also`, which must judge the same fact) report nothing
    about the item on it."""
    for item in items:
        def prove(fact, settings, item=item):
            if not complete(fact) or not quiet(fact, settings, (rule_id, *also), item):
                return None
            return note(fact) if callable(note) else note

        prove.__name__ = f"{rule_id}_{item}_by_silence"
        prover(rule_id, item)(prove)


# -- what "complete" means for each kind of fact ----------------------------------------

def runnable(service: Any) -> bool:
    """A Compose service Compose could run as written (an `extends` fragment with neither
    image nor build is completed elsewhere: what it lacks is not this file's to answer)."""
    raw = service.raw
    return raw.get("image") is not None or raw.get("build") is not None


def answered(fact: Any) -> bool:
    """A live fact whose probe got an answer (no error, not cut short)."""
    return getattr(fact, "error", None) is None and not getattr(fact, "partial", False)
