"""The security pre-deployment checklist: the catalog of items and its loader."""
