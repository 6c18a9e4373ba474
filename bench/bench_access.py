"""Cost of row-level security and the logged views on the analysts' guide queries (docs/analysts.md).

Against a built warehouse (WAREHOUSE_URL, e.g. after `lintas demo --scale city` with a private LINTAS_HOME), each
guide query runs as: the superuser on `marts.*` (no policy, no log), an analyst login on `identified.*` (policy
that lets every row through + one access-log row), and a kecamatan login (policy filtering to one kecamatan).
Prints median seconds of `--repeat` runs and the rows returned; creates and drops its own logins.

    python bench/bench_access.py [--repeat 5] [--kecamatan 35.73.05]
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg

from lintas import access, settings, warehouse

IDENTIFIED = ("dim_person", "dim_household", "fct_programme_participation", "fct_person_needs",
              "fct_household_needs", "dim_dtks_member_history", "fct_dtks_register_events")


def guide_queries() -> list[str]:
    text = (settings.project_root() / "docs" / "analysts.md").read_text(encoding="utf-8")
    return [q.strip().rstrip(";") for q in re.findall(r"```sql\n(.*?)```", text, re.S)]


def as_identified(query: str) -> str:
    return re.sub(r"\bmarts\.(" + "|".join(IDENTIFIED) + r")\b", r"identified.\1", query)


def timed(url: str, query: str, repeat: int) -> tuple[float, int]:
    seconds, rows = [], 0
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("set jit = off")
        for _ in range(repeat):
            started = time.perf_counter()
            rows = len(conn.execute(query).fetchall())
            seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--kecamatan", default="35.73.05")
    args = parser.parse_args()
    url = warehouse.warehouse_url()
    tag = uuid.uuid4().hex[:8]
    logins = {"analyst": f"bench_{tag}_analyst", "kecamatan": f"bench_{tag}_kecamatan"}
    access.grant_login(logins["analyst"], "analyst", url=url)
    access.grant_login(logins["kecamatan"], "kecamatan", kecamatan=[args.kecamatan], url=url)
    parts = urlsplit(url)
    login_url = {k: urlunsplit(parts._replace(netloc=f"{v}@{parts.netloc.rsplit('@', 1)[-1]}"))
                 for k, v in logins.items()}
    try:
        print("| query | superuser, marts.* s (rows) | analyst, identified.* s (rows) |"
              f" kecamatan {args.kecamatan} s (rows) |")
        print("|---|---|---|---|")
        for query in guide_queries():
            logged = as_identified(query)
            if logged == query:
                continue  # area counts or reference: no policy in the way
            try:
                base = timed(url, query, args.repeat)
            except psycopg.errors.UndefinedTable as missing:  # a mart this warehouse has not built
                print(f"| `{' '.join(query.split())[:70]}` | skipped: {missing.diag.message_primary} | | |")
                continue
            analyst = timed(login_url["analyst"], logged, args.repeat)
            kecamatan = timed(login_url["kecamatan"], logged, args.repeat)
            label = " ".join(query.split())[:70].replace("|", "/")
            print(f"| `{label}` | {base[0]:.3f} ({base[1]:,}) | {analyst[0]:.3f} ({analyst[1]:,}) |"
                  f" {kecamatan[0]:.3f} ({kecamatan[1]:,}) |")
    finally:
        for login in logins.values():
            access.revoke_login(login, url, drop=True)


if __name__ == "__main__":
    main()
