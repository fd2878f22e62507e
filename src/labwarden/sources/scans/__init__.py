"""Image vulnerability scans: Trivy and Grype JSON reports (report.py), the lab's scan
policy from labwarden.yaml (policy.py) and one fact per (Compose service, image) (fact.py)."""
