"""Duties around personal data (UU 27/2022 PDP): data-subject requests, retention, secret hygiene."""
