"""Airflow Assets: one per raw source, updated by a successful, gated load; the warehouse build listens."""

from airflow.sdk import Asset

RAW_DINSOS_DTKS = Asset("lintas://raw/dinsos_dtks", group="raw")
RAW_DISDIK_PESERTA_DIDIK = Asset("lintas://raw/disdik_peserta_didik", group="raw")
RAW_DISKOPINDAG_UMKM = Asset("lintas://raw/diskopindag_umkm", group="raw")
RAW_DPMPTSP_IZIN_USAHA = Asset("lintas://raw/dpmptsp_izin_usaha", group="raw")
RAW_DPMPTSP_IZIN_USAHA_KBLI = Asset("lintas://raw/dpmptsp_izin_usaha_kbli", group="raw")

RAW_SOURCES = [RAW_DINSOS_DTKS, RAW_DISDIK_PESERTA_DIDIK, RAW_DISKOPINDAG_UMKM, RAW_DPMPTSP_IZIN_USAHA,
               RAW_DPMPTSP_IZIN_USAHA_KBLI]
