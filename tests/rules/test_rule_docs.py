"""Rule docs are read without `inspect` (start-up): its `cleandoc` must give what the
standard library's gives, on every rule's docstring and on the shapes a docstring can have."""

from __future__ import annotations

import inspect

import pytest

from labwarden.rules import registry


@pytest.mark.parametrize("doc", [
    "", "one line", "   leading spaces", "\n\n  indented\n    more\n  back\n\n",
    "first\n\tTabbed\n\t\tdeeper", "first\n  \n    blank lines between\n\n    kept\n   ",
    "no indent\nanywhere\n", "\n", "   \n   \n", "mixed\n \t x\n    y", "a\r\n  b\n  c",
    "trailing spaces   \n    on lines   \n", "first\n    only one line after",
])
def test_cleandoc_is_inspects(doc):
    assert registry.cleandoc(doc) == inspect.cleandoc(doc)


def test_every_rule_doc_reads_as_with_inspect():
    rules = registry.all_rules()
    assert len(rules) > 50
    for rule in rules:
        doc = rule.check.__doc__
        assert registry.cleandoc(doc) == inspect.cleandoc(doc), rule.id
        text = inspect.cleandoc(doc)
        assert rule.doc.what in text and rule.doc.fix.splitlines()[0] in text
