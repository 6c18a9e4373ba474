"""Airflow DAG lintas_extract_dinsos_dtks: built from the source registry (lintas.sources.DINSOS_DTKS)."""

from lintas import sources
from lintas.extract_dags import extract_dag

dag = extract_dag(sources.DINSOS_DTKS)
