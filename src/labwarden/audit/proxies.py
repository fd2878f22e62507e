"""The reverse-proxy stage of an audit: read the proxies the tree's Compose projects run,
judge their routes, and, with live targets, pair each route with the live answer of its URL.

The workers that load the projects send back every Compose service as a `Workload` and each
proxy service as a `ProxySpec` (`labwarden.sources.proxy.workload`); the parent then has
the whole tree, so a proxy host in one project is matched to the container of another it
forwards to. The facts found here are about other services than the proxy's own: they are
kept with the origin `LAB_ORIGIN` and each names its service (`belongs_to`).

A target that names a proxy's configuration (`npm:PATH`…) is probed like any target; here
its upstreams are matched to the tree, and a file the tree's proxy already read is not
judged twice.
"""

from __future__ import annotations

import os

from labwarden.model import LAB_ORIGIN, Diagnostic, Finding
from labwarden.sources.proxy.model import (
    ProxyLiveCheck,
    ProxyRoute,
    ProxyServer,
    pair_with_answers,
)
from labwarden.sources.proxy.resolve import Resolver
from labwarden.sources.proxy.workload import ProxySpec, Workload

TEXT_CONFIG = (".yml", ".yaml", ".toml", "caddyfile")


class ProxyStage:
    def __init__(self, workloads: list[Workload], specs: list[ProxySpec]):
        self.workloads = workloads
        self.specs = specs
        self.routes: list[ProxyRoute] = []
        self.files: set[str] = set()

    def read_tree(self, runner, findings: list[Finding], diagnostics: list[Diagnostic],
                  kept: list | None, markers: dict | None = None) -> None:
        """Read and judge the tree's proxies. `markers`: the inline suppressions the Compose
        stage took from the files it read, by path; a route made from a service's labels
        is suppressed there, and that stage says which markers nothing used."""
        if not self.specs:
            return
        from labwarden.sources.proxy.discover import read_tree

        reading = read_tree(self.specs, self.workloads)
        diagnostics.extend(reading.diagnostics)
        self.files |= reading.files
        found: list[Finding] = []
        for fact in reading.facts:
            runner.run(fact, fact.asset, found, diagnostics)
            if kept is not None:
                kept.append((LAB_ORIGIN, fact.asset, fact))
            if isinstance(fact, ProxyRoute):
                self.routes.append(fact)
        _inline_suppressions(found, diagnostics, markers or {})
        findings.extend(found)

    def adopt(self, facts: list) -> list:
        """The facts of proxy targets, with their upstreams matched to the tree's Compose
        services; those of a file the tree's proxy already read are dropped."""
        resolver = Resolver(self.workloads)
        adopted = []
        for fact in facts:
            if isinstance(fact, (ProxyRoute, ProxyServer)):
                source = fact.source
                if source and not source.startswith(("http://", "https://")) and \
                        os.path.realpath(source) in self.files:
                    continue
                if isinstance(fact, ProxyRoute):
                    for upstream in fact.upstreams:
                        if upstream.workload is None and upstream.host:
                            upstream.workload, upstream.via = resolver.find(upstream.host,
                                                                            upstream.port)
                    self.routes.append(fact)
            adopted.append(fact)
        return adopted

    def checks(self, facts: list) -> list[ProxyLiveCheck]:
        """Each route paired with the live HTTP answers of its domains."""
        from labwarden.sources.live.http import HttpFact

        answers = [f for f in facts if isinstance(f, HttpFact)]
        return pair_with_answers(self.routes, answers) if answers and self.routes else []


def _inline_suppressions(findings: list[Finding], diagnostics: list[Diagnostic],
                         known: dict) -> None:
    """`# labwarden: ignore[PRX003] reason` in a Traefik file (or a Caddyfile) suppresses a
    finding at that line, as in a Compose file; in a Compose file (a route from labels), the
    markers the Compose stage took (`known`) do."""
    from labwarden.sources._read import DecodeError, decode_text, read_regular
    from labwarden.sources.proxy.traefik import MAX_CONFIG_BYTES
    from labwarden.suppress import apply_markers, inline_markers, mark_suppressed

    if known:
        mark_suppressed([f for f in findings if f.location.path in known], known)
        findings = [f for f in findings if f.location.path not in known]

    def text_of(path: str) -> str:
        try:
            return decode_text(read_regular(path, MAX_CONFIG_BYTES))
        except (OSError, DecodeError):
            return ""

    paths = {f.location.path for f in findings if f.location.line and
             f.location.path.lower().endswith(TEXT_CONFIG)}
    if not paths:
        return
    markers = {path: inline_markers(path, text_of(path)) or None for path in paths}
    apply_markers(findings, markers, diagnostics)
