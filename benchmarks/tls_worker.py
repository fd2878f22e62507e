"""bench_tls.py's labwarden side: `tls_worker.py CA URL...` probes the URLs (their names
pinned to 127.0.0.1), runs the TLS rules and prints JSON. Kept apart from bench_tls.py so
that the measured process imports what a `labwarden` run would, not the benchmark's own
modules."""

import asyncio
import json
import sys
import time

HOSTS = ("weak.test", "strong.test", "ciphers.test", "legacy.test")


def main(argv: list[str]) -> int:
    started = time.perf_counter()
    from labwarden.rules import registry
    from labwarden.settings import Settings
    from labwarden.sources.live import collect as collect_module
    from labwarden.sources.live.targets import parse_target
    from labwarden.sources.live.tls import TlsFact

    ca_file, urls = argv[0], argv[1:]
    options = collect_module.ProbeOptions(timeout=5.0, deadline=60.0, ca_file=ca_file)
    options.resolve = {name: "127.0.0.1" for name in HOSTS}
    # The TLS probe alone, whatever else the source table calls for an https:// target.
    collect_module.probes_for = lambda target, options: ("tls",)
    rules = registry.rules_for(TlsFact)                     # loads every rule module
    imported = time.perf_counter()
    facts, diagnostics = asyncio.run(collect_module.collect([parse_target(u) for u in urls],
                                                            options))
    scanned = time.perf_counter()
    settings = Settings()
    results = {}
    for fact in facts:
        hits = []
        for rule in rules:
            for hit in rule.check(fact, settings):
                hits.append({"rule": rule.id, "severity": (hit.severity or rule.severity).name,
                             "message": hit.message, "evidence": hit.evidence})
        results[fact.target] = {"error": fact.error, "hits": hits}
    print(json.dumps({"import_s": imported - started, "scan_s": scanned - imported,
                      "judge_s": time.perf_counter() - scanned, "results": results,
                      "errors": [str(d) for d in diagnostics if d.level == "error"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
