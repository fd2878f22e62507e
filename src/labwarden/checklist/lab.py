"""The parts of one lab that checklist texts name, as placeholders.

The seed checklist was written for one homelab: "Service behind Nginx Proxy Manager
(CT 102)", "Service added to NetBox (CT 103) inventory", paths under /home/jramos. In
`catalog.yaml` those parts are placeholders (`Service behind {reverse_proxy}`) whose
defaults are the seed's own words, so the packaged catalogue still reads exactly as the
seed (the reconciliation test checks it); `lab:` in labwarden.yaml names the operator's
parts instead, and the overlay's texts may use the same placeholders.

This module is imported by `config` (the `lab:` schema) on every command: it holds the
table and the substitution only, nothing that loads the catalogue.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# name: (the seed's wording, what the operator names with it and where the seed uses it).
# Plain tuples, not records: `config` imports this on every command's start-up.
PLACEHOLDERS: Mapping[str, tuple[str, str]] = {
    "reverse_proxy": ("Nginx Proxy Manager (CT 102)",
                      "the reverse proxy web services sit behind (3.2.1)"),
    "sso_gateway": ("TinyAuth", "the single sign-on gateway (1.3.1)"),
    "hypervisor": ("Proxmox", "the virtualisation platform whose firewall 3.4.1 asks for"),
    "certificate_authority": ("Let's Encrypt", "the CA the certificates come from (3.3.3)"),
    "backup_system": ("Proxmox Backup Server", "where backup jobs run (5.1.1)"),
    "log_store": ("Loki", "the central log store (6.1.3)"),
    "metrics_system": ("Prometheus", "what scrapes the services' metrics (6.3.1)"),
    "dashboards": ("Grafana", "where service dashboards live (6.3.3)"),
    "inventory_system": ("NetBox (CT 103)", "the asset inventory (8.4.1)"),
    "accounts_doc": ("/home/jramos/homelab/docs/accounts/",
                     "where user account lists are documented (1.1.6)"),
    "services_doc": ("/home/jramos/homelab/services/README.md",
                     "where services are documented (8.1.1)"),
    "naming_doc": ("/home/jramos/homelab/scripts/security/CONTAINER_NAME_FIXES.md",
                   "the container naming guide subsection 4.5 refers to"),
    # Not a `lab:` key: labwarden.yaml's own `records_dir` fills it.
    "records_dir": ("/home/jramos/homelab/docs/deployment-records/",
                    "where deployment records are archived (the template's usage)"),
}
DEFAULTS: Mapping[str, str] = {name: spec[0] for name, spec in PLACEHOLDERS.items()}
FROM_INVENTORY = ("records_dir",)
# The keys of `lab:` in labwarden.yaml.
LAB_KEYS: tuple[str, ...] = tuple(n for n in PLACEHOLDERS if n not in FROM_INVENTORY)

# `{name}` is a placeholder; `{{` and `}}` are literal braces. Compiled on first use.
_TOKEN = r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}"


class UnknownPlaceholder(ValueError):
    """A text names a placeholder the table does not have; the message says which."""


def placeholders_in(text: str) -> list[str]:
    return [m.group(1) for m in re.finditer(_TOKEN, text) if m.group(1)]


def fill(text: str, values: Mapping[str, str]) -> str:
    """`text` with every placeholder replaced by its value (`values`, else the seed's)."""
    def one(match: re.Match) -> str:
        name = match.group(1)
        if name is None:
            return match.group(0)[0]
        if name in values:
            return values[name]
        if name in DEFAULTS:
            return DEFAULTS[name]
        raise UnknownPlaceholder(unknown_message(name))

    return re.sub(_TOKEN, one, text)


def unknown_message(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(PLACEHOLDERS), n=1)
    hint = f"did you mean {{{close[0]}}}?" if close else \
        "known: " + ", ".join(f"{{{n}}}" for n in PLACEHOLDERS)
    return f"unknown placeholder {{{name}}}; {hint}"
