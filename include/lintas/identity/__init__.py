"""Identity resolution: NIK/KK validation, name and address normalisation, record linkage."""
