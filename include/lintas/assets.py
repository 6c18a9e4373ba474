"""Airflow Assets: one per raw source, updated by a successful, gated load; the warehouse build listens."""

from airflow.sdk import Asset

RAW_DINSOS_DTKS = Asset("lintas://raw/dinsos_dtks", group="raw")

RAW_SOURCES = [RAW_DINSOS_DTKS]
