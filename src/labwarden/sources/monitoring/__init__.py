"""The lab's monitoring stack as evidence: Prometheus, Alertmanager, the log shipper, Loki."""
