"""Live and host checks: probes that talk to the network or read a host.

Each probe kind lives in its own module and exposes `async def probe(target, options)`
returning facts (dataclasses with `asset` and `location`) and never raising: an unreachable
target is a fact with `error` set, or a Diagnostic. `collect.py` runs them concurrently.
"""
