"""Lintas: a cross-agency social-welfare data warehouse."""

__version__ = "0.1.0"
