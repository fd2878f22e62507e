"""Docker Engine: what actually runs.

A Compose file says what should run; the engine knows what does. This package reads the
engine's view of every container (the Engine API's `inspect`, or `docker inspect` over the
host transport, or a snapshot of it) and pairs it with the audited Compose files:

- `fact`    the facts: `Container` (one running or stopped container, as the engine runs
            it), `DockerEngine` (one engine that was read), `Deployment` (one Compose
            service paired with the containers an engine runs for it); `facts_from_yaml`
            for rule fixtures. Environment values never enter a fact: only the keys.
- `engine`  collection: the Engine API over a unix socket or TCP (plain httpx), `docker`
            commands over a host transport (`local://`, `ssh://`), or `snapshot:DIR`.
- `intent`  what a Compose service's file asks the engine for, in the engine's terms;
- `drift`   the pairing: which containers each Compose service runs as, and what differs
            from its file;
- `address` where an engine's API is (`docker+unix://`, `docker+tcp://`, `docker:`).

The probe entry for targets is `labwarden.sources.live.docker` (the live collector loads
probes from that package).
"""
