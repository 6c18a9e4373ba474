"""Retention keeps exactly the versions staging reads: its ranking must not drift from the staging models'."""

import re

import pytest

from lintas import settings
from lintas.privacy import retention

STAGING = settings.dbt_project_dir() / "models" / "staging"
MODELS = {"disdik_peserta_didik": "disdik/stg_disdik__students.sql",
          "dpmptsp_izin_usaha": "dpmptsp/stg_dpmptsp__permits.sql",
          "dpmptsp_izin_usaha_kbli": "dpmptsp/stg_dpmptsp__permit_kbli.sql"}


@pytest.mark.parametrize("source", sorted(retention.INCREMENTAL))
def test_incremental_ranking_matches_staging(source):
    model = (STAGING / MODELS[source]).read_text(encoding="utf-8")
    call = re.search(r"accepted_versions\(\s*'(\w+)',\s*'(\w+)',\s*'(\w+)',\s*'([^']+)'", model)
    assert call, f"{MODELS[source]} no longer ranks versions with lintas.accepted_versions"
    _, table, key, newest_first = call.groups()
    ret_key, _, ret_order = retention.INCREMENTAL[source]
    assert (table, key) == (source, ret_key)
    assert ret_order == newest_first.replace("raw_rows.", "r."), "retention would keep another version"
    assert "where recency = 1" in model


def test_whole_batch_sources_pick_the_batches_staging_reads():
    macro = (settings.dbt_project_dir() / "macros" / "versions.sql").read_text(encoding="utf-8")
    assert "partition by {{ per }} order by batch_id desc" in macro  # lintas.latest_accepted_batches
    for source, model, per in ((retention.DTKS, "dinsos/stg_dinsos__dtks_members.sql", "period, kode_kabkota"),
                               (retention.UMKM, "diskopindag/stg_diskopindag__umkm_owners.sql", "source_ref")):
        staged = (STAGING / model).read_text(encoding="utf-8")
        assert f"lintas.latest_accepted_batches('{source}', per='{per}')" in staged
        assert f"partition by {per} order by batch_id desc" in retention._SUPERSEDED_BATCHES[source]


def test_every_raw_table_has_a_rule():
    """A new raw source without a retention rule would keep its personal data forever."""
    migrations = "\n".join(p.read_text(encoding="utf-8") for p in (settings.project_root() / "include" / "lintas"
                                                                    / "sql").glob("*.sql"))
    raw_tables = set(re.findall(r"create table if not exists raw\.(\w+)", migrations))
    assert raw_tables == set(retention.RAW_SOURCES) == {"dinsos_dtks", "diskopindag_umkm", *MODELS}


def test_rules_are_sane():
    rules = retention.RULES
    assert rules.dtks_keep_periods >= 2, "the register history needs at least two months to show movements"
    assert 0 < rules.superseded_after_days <= rules.quarantine_after_days
    assert rules.snapshot_years >= 1
