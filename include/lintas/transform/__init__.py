"""Transformations: the dbt project, run against the warehouse."""
