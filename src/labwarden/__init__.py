"""labwarden: audit self-hosted infrastructure and decide whether a service is safe to deploy."""

__version__ = "0.1.0"
