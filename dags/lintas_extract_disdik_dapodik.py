"""Airflow DAG lintas_extract_disdik_dapodik: built from the source registry (lintas.sources.DISDIK_DAPODIK)."""

from lintas import sources
from lintas.extract_dags import extract_dag

dag = extract_dag(sources.DISDIK_DAPODIK)
