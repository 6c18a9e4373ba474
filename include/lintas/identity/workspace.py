"""The in-process DuckDB every linkage stage compares records in: memory, threads and spill bounded."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import tempfile
from contextlib import contextmanager

# DuckDB runs in the Airflow worker's process: bound its memory (it spills to disk beyond) and threads, so the
# linkage stage stays within a few GB at any scale instead of DuckDB's default of 80 % of the machine's RAM.
DUCKDB_MEMORY_LIMIT = "1GB"
DUCKDB_THREADS = 2
# and its spill: past this DuckDB fails with an out-of-space error for its temporary folder, the disk stays usable
DUCKDB_MAX_TEMP_SIZE = "20GB"


@contextmanager
def duckdb_connection():
    import duckdb

    with tempfile.TemporaryDirectory(prefix="lintas-duckdb-") as spill:
        con = duckdb.connect(config={"memory_limit": DUCKDB_MEMORY_LIMIT, "threads": DUCKDB_THREADS,
                                     "temp_directory": spill, "max_temp_directory_size": DUCKDB_MAX_TEMP_SIZE,
                                     "preserve_insertion_order": False})
        try:
            yield con
        finally:
            con.close()


def release_memory() -> None:
    """Give the memory a finished step freed back to the system: Python's cycles collected, then glibc's free heap
    trimmed, so the next step's peak does not start from the heap the last one left (frames, DuckDB results,
    dicts of record keys)."""
    gc.collect()
    libc = ctypes.util.find_library("c")
    if libc:
        try:
            ctypes.CDLL(libc).malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
            pass
