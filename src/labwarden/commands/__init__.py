"""Subcommands that live outside cli.py: each module registers its parsers."""
