"""The rules: one module per area, each registering its rules at import (`registry.rule`).

Which module judges which facts is said once, in the source table
(`labwarden.sources.registry`); `registry.load()` imports a source's rule modules on the
registry's first use. Importing this package imports none of them: an audit that forks
workers loads them in each process, in parallel, not before the fork.

ID bands: CMP001-009 Compose schema, CMP010-049 runtime, CMP050-069 mounts,
CMP070-089 resources and logging, CMP090-099 naming; IMG images; SEC secrets; NET exposure
(NET100+ host firewall); HDR HTTP headers; TLS; SSH; CRD default credentials; SCR scripts.
The prefixes themselves are the source table's `AREAS`.
"""
