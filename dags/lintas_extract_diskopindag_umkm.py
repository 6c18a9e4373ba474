"""Airflow DAG lintas_extract_diskopindag_umkm: built from the source registry (lintas.sources.DISKOPINDAG_UMKM)."""

from lintas import sources
from lintas.extract_dags import extract_dag

dag = extract_dag(sources.DISKOPINDAG_UMKM)
