"""What several rules work out from the same fact, worked out once.

The runner calls the rules of one fact one after the other (`RuleRunner.run`), so rules that
read the same analysis of a service or a project (its parsed volumes, its secrets, its
logging settings, the names its containers are reached by) share it through `for_last`,
which keeps the answer for the last fact it was asked about. Only that one, by identity:
nothing outlives the next fact, and a process that audits again (the console) never reads an
answer about a fact of an earlier audit.
"""

from __future__ import annotations

from functools import wraps

TYPE_CHECKING = False       # typing stays off the start-up path
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    Fact = TypeVar("Fact")
    Answer = TypeVar("Answer")

_NOTHING = object()         # no fact asked about yet


def for_last(analysis: Callable[[Fact], Answer]) -> Callable[[Fact], Answer]:
    """`analysis(fact)`, computed again only when asked about another fact than the last."""
    last: list = [_NOTHING, None]      # the fact, its answer

    @wraps(analysis)
    def answer(fact: Fact) -> Answer:
        if last[0] is not fact:
            last[1] = analysis(fact)   # the answer first: an analysis that fails keeps none
            last[0] = fact
        return last[1]
    return answer
