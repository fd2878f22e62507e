"""Every rule module. `registry.load()` imports this package once; each module registers its
rules at import. A new module is added to this list, nowhere else.

ID bands: CMP001-009 Compose schema, CMP010-049 runtime, CMP050-069 mounts,
CMP070-089 resources and logging, CMP090-099 naming; IMG images; SEC secrets; NET exposure
(NET100+ host firewall); HDR HTTP headers; TLS; SSH; CRD default credentials; SCR scripts.
"""

from labwarden.rules import (  # noqa: F401  (imported for their registrations)
    compose_mounts,
    compose_naming,
    compose_resources,
    compose_runtime,
    compose_schema,
    creds,
    exposure,
    firewall,
    headers,
    images,
    scripts,
    secrets,
    ssh,
    tls,
)

RULE_MODULES = (
    compose_schema,
    compose_runtime,
    compose_mounts,
    compose_resources,
    compose_naming,
    images,
    secrets,
    exposure,
    headers,
    ssh,
    firewall,
    creds,
    tls,
    scripts,
)
