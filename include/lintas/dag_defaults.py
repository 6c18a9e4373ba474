"""Settings every Lintas DAG shares: owner, retries, start date, no catchup, one run at a time."""

from datetime import timedelta

import pendulum

OWNER = "lintas-data"
START_DATE = pendulum.datetime(2026, 1, 1, tz="Asia/Jakarta")


def dag_settings(*, tags: list[str], retries: int = 2) -> dict:
    return {
        "start_date": START_DATE,
        "catchup": False,
        "max_active_runs": 1,
        "tags": ["lintas", *tags],
        "default_args": {"owner": OWNER, "retries": retries, "retry_delay": timedelta(minutes=5)},
    }
