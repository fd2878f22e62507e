"""Remediation: the phased roadmap (and, with it, auto-fixes and script validation)."""
