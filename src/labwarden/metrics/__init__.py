"""Prometheus metrics of a lab: `collect` computes its state through the checklist's own
evaluation (score, risk, gate, findings, certificates, backups, history), `exposition`
serves it as a `prometheus_client` registry, an ASGI app and a standalone HTTP server.

Only names leave this package: the inventory's service and host names (checked against
`[A-Za-z0-9][A-Za-z0-9._-]*` at load), severities, risk levels and item statuses. No
finding text, no evidence, no repository or URL, no secret.
"""
