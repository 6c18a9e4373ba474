"""Airflow DAG lintas_extract_dpmptsp_izin: built from the source registry (lintas.sources.DPMPTSP_IZIN)."""

from lintas import sources
from lintas.extract_dags import extract_dag

dag = extract_dag(sources.DPMPTSP_IZIN)
