"""`warehouse prepare` re-applies the access rules only when something they depend on changed (issue 16: every
DAG run starts with it, and re-applying them cost 5-11 s each time). Skipping must never leave a reader without a
grant or a published mart without its row security."""

from __future__ import annotations

from lintas import access, warehouse


def _has(url: str, query: str) -> tuple:
    with warehouse.connect(url) as conn:
        return conn.execute(query).fetchone()


def test_a_second_prepare_skips_and_a_change_re_applies(warehouse_url):
    assert access.apply(warehouse_url) is False, "the fixture's prepare applied them: nothing changed since"

    # a revoked grant is a change: re-applied, and the grant is back
    with warehouse.connect(warehouse_url) as conn:
        conn.execute("revoke usage on schema audit from lintas_auditor")
    assert access.apply(warehouse_url) is True
    assert _has(warehouse_url, "select has_schema_privilege('lintas_auditor', 'audit', 'usage')") == (True,)
    assert access.apply(warehouse_url) is False

    # a new schema (dbt's first build makes some): the engineer may use it after the next prepare
    with warehouse.connect(warehouse_url) as conn:
        conn.execute("create schema staging_extra")
        conn.execute("create table staging_extra.t (x int)")
    assert access.apply(warehouse_url) is True
    assert _has(warehouse_url, "select has_table_privilege('lintas_engineer', 'staging_extra.t', 'select')") == (
        True,)
    assert access.apply(warehouse_url) is False

    # a table the engineer cannot read yet (made by another role, so no default privilege covers it)
    with warehouse.connect(warehouse_url) as conn:
        conn.execute("set role lintas_pipeline")
        conn.execute("create table staging_extra.u (x int)")
    assert access.apply(warehouse_url) is True
    assert _has(warehouse_url, "select has_table_privilege('lintas_engineer', 'staging_extra.u', 'select')") == (
        True,)

    # dropped default privileges (dbt's next views would be unreadable): noticed and re-applied
    with warehouse.connect(warehouse_url) as conn:
        conn.execute("alter default privileges in schema staging_extra revoke select on tables from lintas_engineer")
    assert access.apply(warehouse_url) is True
    assert access.apply(warehouse_url) is False

    # the rules forced (`lintas access apply` by hand does)
    assert access.apply(warehouse_url, force=True) is True


def test_published_marts_keep_their_policies_whether_prepare_or_publish_applied_them(warehouse_url):
    with warehouse.connect(warehouse_url) as conn:
        conn.execute("create schema marts")
        conn.execute("create table marts.dim_person (person_id bigint, nik text, kode_kelurahan text)")
    assert access.apply(warehouse_url) is True, "marts appeared: their policies and views are applied"
    assert _has(warehouse_url, "select relrowsecurity and relforcerowsecurity from pg_class"
                               " where oid = 'marts.dim_person'::regclass") == (True,)
    assert access.apply(warehouse_url) is False

    # a publish replaces the tables and applies their rules in its own transaction, then records that it did
    with warehouse.connect(warehouse_url) as conn, conn.transaction():
        conn.execute("drop table marts.dim_person cascade")
        conn.execute("create table marts.dim_person (person_id bigint, nik text, kode_kelurahan text)")
        conn.execute("create table marts.dim_household (no_kk text, kode_kelurahan text)")
        access.apply_published(conn)
        access.record_published(conn)
    assert access.apply(warehouse_url) is False, "publish applied and recorded them: prepare has nothing to do"
    assert _has(warehouse_url, "select bool_and(relrowsecurity and relforcerowsecurity) from pg_class"
                               " where relnamespace = 'marts'::regnamespace and relkind = 'r'") == (True,)
    assert _has(warehouse_url, "select to_regclass('identified.dim_household') is not null") == (True,)

    # a mart that appeared without a publish (by hand) is not left open: prepare sees it and applies its rules
    with warehouse.connect(warehouse_url) as conn:
        conn.execute("create table marts.fct_extra (person_id bigint, kode_kecamatan text)")
    assert access.apply(warehouse_url) is True
    assert _has(warehouse_url, "select relforcerowsecurity, (select count(*) from pg_policy"
                               " where polrelid = 'marts.fct_extra'::regclass) from pg_class"
                               " where oid = 'marts.fct_extra'::regclass") == (True, 1)
    assert access.apply(warehouse_url) is False
