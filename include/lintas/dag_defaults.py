"""What every Lintas DAG shares: owner, retries, start date, no catchup, one run at a time."""

from __future__ import annotations

from datetime import timedelta

import pendulum

OWNER = "lintas-data"
START_DATE = pendulum.datetime(2026, 1, 1, tz="Asia/Jakarta")


def dag_settings(*, tags: list[str], retries: int = 2) -> dict:
    from lintas import alerts

    return {
        "start_date": START_DATE,
        "catchup": False,
        "max_active_runs": 1,
        "tags": ["lintas", *tags],
        "default_args": {"owner": OWNER, "retries": retries, "retry_delay": timedelta(minutes=5),
                         "on_failure_callback": alerts.notify_failure},
    }
