"""Tests of the Compose source layer (a package, so its module names cannot clash)."""
