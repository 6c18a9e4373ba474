"""Loaders: put parsed deliveries into the raw layer with lineage, quarantine and reconciliation."""
