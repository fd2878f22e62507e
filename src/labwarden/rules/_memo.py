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
    # The fact and its answer, in the closure's cells: read faster than items of a list, on
    # some 38,000 calls over a large tree.
    last_fact: object = _NOTHING
    last_answer: Answer | None = None

    @wraps(analysis)
    def answer(fact: Fact) -> Answer:
        nonlocal last_fact, last_answer
        if last_fact is not fact:
            last_answer = analysis(fact)   # the answer first: an analysis that fails keeps none
            last_fact = fact
        return last_answer  # type: ignore[return-value]
    return answer
