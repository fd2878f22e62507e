"""Plain scalars are typed as yaml.v3 (Compose's parser) types them: YAML 1.2's core schema,
with YAML 1.1's leading-zero octal; quoted scalars are text. The same in a mapping's value, a
sequence's item and a document that is one scalar (the builder types each in its own path)."""

from __future__ import annotations

import math

import pytest

from labwarden.sources.yamlfile import parse_yaml

CASES = [
    ("~", None), ("null", None), ("Null", None), ("NULL", None),
    ("true", True), ("True", True), ("FALSE", False),
    ("yes", "yes"), ("on", "on"), ("off", "off"), ("n", "n"), ("no", "no"),
    ("42", 42), ("-7", -7), ("+3", 3), ("0o17", 15), ("0x1F", 31), ("0755", 493),
    ("089", 89.0), ("1.5", 1.5), (".5", 0.5), ("1e3", 1000.0), ("-.Inf", -math.inf),
    ("nginx:latest", "nginx:latest"), ("/data", "/data"), ("n8n", "n8n"),
    ("trueish", "trueish"), ("nullable", "nullable"), ("NaNa", "NaNa"), ("é", "é"),
    ("+x", "+x"), (".env", ".env"), ("1.2.3", "1.2.3"), ("10s", "10s"),
    ("'42'", "42"), ('"true"', "true"), ('"~"', "~"),
]


@pytest.mark.parametrize("written, expected", CASES)
def test_a_scalar_is_typed_alike_wherever_it_is_written(written: str, expected) -> None:
    [mapping], _ = parse_yaml(f"key: {written}\n", "c.yaml")
    [sequence], _ = parse_yaml(f"- {written}\n", "c.yaml")
    [alone], _ = parse_yaml(f"{written}\n", "c.yaml")
    for value in (mapping["key"], sequence[0], alone):
        assert type(value) is type(expected) and value == expected, (written, value)


def test_an_empty_value_is_null_in_a_mapping_and_a_sequence() -> None:
    [mapping], _ = parse_yaml("key:\nother: 1\n", "c.yaml")
    [sequence], _ = parse_yaml("-\n- 1\n", "c.yaml")
    assert mapping["key"] is None and sequence[0] is None


def test_not_a_number_is_a_float() -> None:
    [mapping], _ = parse_yaml("key: .nan\n", "c.yaml")
    assert isinstance(mapping["key"], float) and math.isnan(mapping["key"])
