"""Seeded synthetic Kota Malang population (the hidden truth) and each agency's noisy view of it.

All data made here is synthetic. The truth (source record -> true person) is written to a separate folder
and is never loaded into the warehouse: it exists only to score linkage.
"""
