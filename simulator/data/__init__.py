"""Scenario data: the schema, distributions, dotted paths (imports nothing above it)."""
