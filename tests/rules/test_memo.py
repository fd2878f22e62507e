"""`for_last`: the analysis several rules share of one fact, made once per fact."""

from __future__ import annotations

import pytest

from labwarden.rules._memo import for_last


def test_an_analysis_is_made_once_per_fact_in_turn() -> None:
    made: list[object] = []

    @for_last
    def analysis(fact: object) -> list[object]:
        made.append(fact)
        return [fact]

    first, second = object(), object()
    assert analysis(first) is analysis(first)           # the same answer, not made again
    assert analysis(second) == [second]
    assert analysis(first) == [first]                   # only the last fact is kept
    assert made == [first, second, first]


def test_a_fact_whose_analysis_fails_gets_no_answer() -> None:
    calls = []

    @for_last
    def analysis(fact: dict) -> int:
        calls.append(fact)
        return fact["n"]

    broken, fact = {}, {"n": 1}
    assert analysis(fact) == 1
    with pytest.raises(KeyError):
        analysis(broken)
    with pytest.raises(KeyError):
        analysis(broken)                                # never the last fact's answer
    assert analysis(fact) == 1 and calls == [fact, broken, broken]
