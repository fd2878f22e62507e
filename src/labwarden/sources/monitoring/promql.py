"""Just enough PromQL to tell what an alert rule watches: the selectors of a few metrics in
its expression (`up{job="node"}`, `probe_ssl_earliest_cert_expiry`), and whether a
selector's label matchers match a scrape target's labels, as Prometheus matches them (a
missing label is the empty string; `=~` is anchored).
"""

from __future__ import annotations

import re

# What each kind of alert reads.
DOWN_METRICS = ("up", "probe_success")
CERT_METRICS = ("probe_ssl_earliest_cert_expiry", "probe_ssl_last_chain_expiry_timestamp_seconds",
                "ssl_cert_not_after", "ssl_verified_cert_not_after")
DISK_METRICS = ("node_filesystem_avail_bytes", "node_filesystem_free_bytes")
# A down alert compares the metric with 0 or tests for its absence; `up` alone is always 1.
_DOWN_TEST = re.compile(r"==\s*0(?![.\d])|<\s*1(?![.\d])|!=\s*1(?![.\d])|<\s*0?\.\d|"
                        r"\babsent(?:_over_time)?\s*\(")
_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*'
                      r'("(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`)\s*,?')


class Selector:
    __slots__ = ("metric", "matchers")

    def __init__(self, metric: str, matchers: list[tuple[str, str, str]]):
        self.metric = metric
        self.matchers = matchers          # (label, op, value)

    def matches(self, labels: dict[str, str]) -> bool:
        for label, op, value in self.matchers:
            have = labels.get(label, "")
            if op == "=" and have != value:
                return False
            if op == "!=" and have == value:
                return False
            if op in ("=~", "!~"):
                try:
                    hit = re.fullmatch(value, have) is not None
                except re.error:
                    return False          # Prometheus refuses the rule; it watches nothing
                if hit != (op == "=~"):
                    return False
        return True


def _strip_strings(expr: str) -> str:
    """The expression with string contents blanked (same length), so a metric name inside
    a label value is not taken for a selector."""
    return re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`',
                  lambda m: m.group(0)[0] + " " * (len(m.group(0)) - 2) + m.group(0)[-1], expr)


def selectors(expr: str, metrics: tuple[str, ...]) -> list[Selector]:
    """The selectors of `metrics` in `expr`, each with its label matchers."""
    blank = _strip_strings(expr)
    found = []
    names = "|".join(re.escape(m) for m in metrics)
    for match in re.finditer(rf"(?<![A-Za-z0-9_:])({names})(?![A-Za-z0-9_:(])", blank):
        end = match.end()
        rest = blank[end:].lstrip()
        matchers: list[tuple[str, str, str]] | None = []
        if rest.startswith("{"):
            start = end + (len(blank[end:]) - len(rest)) + 1
            close = blank.find("}", start)
            if close < 0:
                continue
            matchers = _matchers(expr[start:close])
            if matchers is None:
                continue
        found.append(Selector(match.group(1), matchers or []))
    return found


def _matchers(text: str) -> list[tuple[str, str, str]] | None:
    matchers: list[tuple[str, str, str]] = []
    position = 0
    while position < len(text):
        match = _MATCHER.match(text, position)
        if match is None:
            return None if text[position:].strip() else matchers
        raw = match.group(3)
        value = raw[1:-1] if raw[0] == "`" else _unquote(raw[1:-1])
        matchers.append((match.group(1), match.group(2), value))
        position = match.end()
    return matchers


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)


def is_down_alert(expr: str) -> bool:
    return bool(selectors(expr, DOWN_METRICS)) and bool(_DOWN_TEST.search(_strip_strings(expr)))
