"""Every rule module, by name. `registry.load()` imports them once, on the registry's first
use; each module registers its rules at import. Importing this package imports none of them:
an audit that forks workers loads them in each process, in parallel, not before the fork.
A new module is added to this list, nowhere else.

ID bands: CMP001-009 Compose schema, CMP010-049 runtime, CMP050-069 mounts,
CMP070-089 resources and logging, CMP090-099 naming; IMG images; SEC secrets; NET exposure
(NET100+ host firewall); HDR HTTP headers; TLS; SSH; CRD default credentials; SCR scripts.
"""

# Rule modules by the source whose facts they judge: an audit of Compose files never imports
# the TLS or SSH rules, and a probe of one URL never imports the Compose rules.
RULE_GROUPS = {
    "compose": ("compose_schema", "compose_runtime", "compose_mounts", "compose_resources",
                "compose_naming", "images", "secrets", "exposure"),
    "tls": ("tls",),
    "http": ("headers",),
    "ssh": ("ssh",),
    "hosts": ("firewall",),
    "creds": ("creds",),
    "scripts": ("scripts",),
}
# Which group judges the facts of a source module (by module name prefix).
FACT_SOURCES = (
    ("labwarden.sources.compose", "compose"),
    ("labwarden.sources.envfile", "compose"),
    ("labwarden.sources.scripts", "scripts"),
    ("labwarden.sources.live.tls", "tls"),
    ("labwarden.sources.live.http", "http"),
    ("labwarden.sources.live.ssh_wire", "ssh"),
    ("labwarden.sources.sshd_config", "ssh"),
    ("labwarden.sources.live.creds", "creds"),
    ("labwarden.sources", "hosts"),        # host, ports, firewall, sockets
)

RULE_MODULES = tuple(name for names in RULE_GROUPS.values() for name in names)
