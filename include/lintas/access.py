"""Who may read what in the warehouse (UU 27/2022 PDP), enforced by PostgreSQL itself.

Six NOLOGIN group roles; people and services get logins that are members of one (`grant_login`):

- lintas_pipeline  owns the schemas and objects; the DAGs and dbt may connect as a login of it
- lintas_engineer  reads and writes everything, for operations (not the pseudonym key)
- lintas_analyst   identified marts through the logged views of schema `identified`, pseudonymised ones
                   (`marts_pseudo`), area counts and public aggregates
- lintas_kecamatan as the analyst (no pseudonyms), but row-level security limits every person, household,
                   need and history row to the kecamatan(s) in access.kecamatan_assignment for the login
- lintas_auditor   audit.* (publish events, gate results, access log, quarantine counts), public aggregates
- lintas_public    `marts_public` only: counts with small cells suppressed

The published marts are replaced by every publish, so `apply_published` runs inside the publish transaction:
the new tables get their owner, grants and policies, and the view schemas are rebuilt over them, before any
reader can see the new version. Row-level security is FORCEd, so the views (owned by lintas_pipeline, the
tables' owner) are filtered too; the policies ask for session_user, the login, which neither SET ROLE nor a
view's owner changes. Superusers bypass it all (the embedded default connects as one).
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from pathlib import Path

import psycopg
from psycopg import errors, sql

from lintas import settings, warehouse

log = logging.getLogger(__name__)

ROLES = {
    "pipeline": "lintas_pipeline",
    "engineer": "lintas_engineer",
    "analyst": "lintas_analyst",
    "kecamatan": "lintas_kecamatan",
    "auditor": "lintas_auditor",
    "public": "lintas_public",
}
READERS = [ROLES[r] for r in ("engineer", "analyst", "kecamatan", "auditor", "public")]
# may see a record's NIK and No. KK in full outside the marts (`lintas explain-person --reveal`, the review page)
REVEALING_ROLES = ("engineer", "analyst")
MARTS, IDENTIFIED, PSEUDO, PUBLIC = "marts", "identified", "marts_pseudo", "marts_public"
REFERENCE_TABLES = {"dim_wilayah"}  # no person in them: every reader but the public may read them
AREA_TABLES = {"rpt_kelurahan_needs", "rpt_kecamatan_needs", "rpt_dtks_kelurahan_summary"}  # counts only
PSEUDONYMISED = {"nik", "no_kk"}
DROPPED_IN_PSEUDO = {"alamat", "rt", "rw", "tempat_lahir", "iddtks", "record_key", "evidence_record_keys",
                     "member_spell_key", "register_event_key", "nibs"}  # addresses, agency ids, hashes of them
AREA_NAMES = {"nama_kelurahan", "nama_kecamatan", "nama_kabkota", "nama_provinsi"}
SMALL_CELL = 5  # 1..4 persons (households, for household rules) are suppressed in public aggregates
MIGRATED_SCHEMAS = {"raw", "audit", "quarantine", "identity", "access"}
_LOCK = "select pg_advisory_xact_lock(hashtext('lintas.publish'))"  # the publish lock: one writer of marts
_KECAMATAN = re.compile(r"^\d{2}\.\d{2}\.\d{2}$")


class AccessError(RuntimeError):
    pass


def ensure_roles(conn: psycopg.Connection) -> list[str]:
    """Create the group roles that are missing (cluster-wide, shared by every database); safe to race."""
    existing = {r[0] for r in conn.execute("select rolname from pg_roles where rolname = any(%s)",
                                            (list(ROLES.values()),))}
    created = []
    for role in ROLES.values():
        if role in existing:
            continue
        try:
            with conn.transaction():
                conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))
            created.append(role)
        except (errors.DuplicateObject, errors.UniqueViolation):  # another process created it meanwhile
            pass
        except errors.InsufficientPrivilege as exc:
            raise AccessError(f"role {role} does not exist and this login may not create roles: a warehouse "
                              "admin (CREATEROLE) must run `lintas access apply` once") from exc
    return created


def apply(url: str, *, take_over_dbt_objects: bool = False, force: bool = False) -> bool:
    """Roles, ownership, grants, the pseudonym key and (if marts are published) policies and views.
    Idempotent; run by `lintas warehouse prepare` (every DAG run starts with it). take_over_dbt_objects: also give
    lintas_pipeline what dbt made so far (once, by an admin, before the pipeline connects as a lintas_pipeline
    login; no build running).

    Skipped when nothing it depends on changed since it was last applied (`fingerprints`: this module's rules,
    the migrations, the schemas and their grants, relations the readers cannot read yet or the pipeline does not
    own, the published marts and their views): then only the pseudonym key is checked. Returns if it applied."""
    with warehouse.connect(url) as conn:
        ensure_roles(conn)
        with conn.transaction():
            conn.execute(_LOCK)
            tracked = _fingerprint_table(conn)
            if tracked and not (force or take_over_dbt_objects) and fingerprints(conn) == _stored(conn):
                set_pseudonym_key(conn)  # from the environment, which may change without anything else
                log.info("access rules unchanged since they were last applied: not re-applied")
                return False
            _set_owner(conn, everything=take_over_dbt_objects)
            _grant_base(conn)
            set_pseudonym_key(conn)
            if conn.execute("select 1 from pg_namespace where nspname = %s", (MARTS,)).fetchone():
                try:
                    with conn.transaction():  # a savepoint: roles and grants above stand either way
                        apply_published(conn)
                except (errors.UndefinedColumn, errors.UndefinedTable) as exc:
                    # marts published by an older Lintas lack what the views expect: the next publish applies the
                    # policies and views to its new build in the same transaction (publish.py)
                    log.warning("published marts predate this version's access rules (%s): policies and views "
                                "follow with the next publish", type(exc).__name__)
            if tracked:
                _store(conn, fingerprints(conn))
        return True


_RULES = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()  # the rules themselves (this module)
_VIEW_SCHEMAS = (IDENTIFIED, PSEUDO, PUBLIC)


def fingerprints(conn: psycopg.Connection) -> dict[str, str]:
    """Hashes of what the access rules depend on, in two parts: 'access_base' (roles, migrations, schemas and
    their grants, default privileges, relations not yet readable by the engineer or not owned by the pipeline
    where they should be) and 'access_published' (the published marts' tables, row security, policies, grants
    and the views over them), which publish re-applies itself and records. Catalog queries only: milliseconds."""
    base = [_RULES, conn.execute("select current_database(), current_user").fetchone(),
            conn.execute("select string_agg(name, ',' order by name) from audit.schema_migration").fetchone(),
            conn.execute("select string_agg(rolname, ',' order by rolname) from pg_roles"
                         " where rolname = any(%s)", (list(ROLES.values()),)).fetchone(),
            conn.execute(
                "select string_agg(nspname || ':' || nspowner::regrole::text || ':' || coalesce(nspacl::text, ''),"
                " ';' order by nspname) from pg_namespace where nspname !~ '^pg_' and nspname not in"
                " ('information_schema', 'public', 'marts_build', 'marts_previous', %s, %s, %s, %s)",
                (MARTS, *_VIEW_SCHEMAS)).fetchone(),
            conn.execute("select string_agg(coalesce(defaclnamespace::regnamespace::text, '') || ':'"
                         " || defaclobjtype::text || ':' || defaclacl::text, ';' order by 1) from pg_default_acl"
                         ).fetchone(),
            # dbt's and the loaders' new relations: readable by the engineer once the grants are applied
            conn.execute(
                "select count(*) filter (where not has_table_privilege(%s, c.oid, 'select')),"
                " count(*) filter (where n.nspname = any(%s) and c.relowner <> %s::regrole"
                "                  and pg_has_role(current_user, c.relowner, 'member'))"
                " from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                " where c.relkind in ('r', 'p', 'v', 'm') and n.nspname !~ '^pg_' and n.nspname not in"
                " ('information_schema', 'public', 'marts_build', 'marts_previous', %s, %s, %s, %s)"
                " and not (n.nspname = 'access' and c.relname = 'pseudonym_key')",
                (ROLES["engineer"], list(MIGRATED_SCHEMAS), ROLES["pipeline"], MARTS, *_VIEW_SCHEMAS)).fetchone()]
    published = [_RULES, conn.execute(
        "select string_agg(n.nspname || '.' || c.relname || ':' || c.oid || ':' || c.relkind::text || ':'"
        " || c.relrowsecurity::text || c.relforcerowsecurity::text || ':' || c.relowner::regrole::text || ':'"
        " || coalesce(c.relacl::text, '') || ':' || (select count(*) from pg_policy p where p.polrelid = c.oid),"
        " ';' order by n.nspname, c.relname)"
        " from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname in (%s, %s, %s, %s) and c.relkind in ('r', 'p', 'v', 'm')",
        (MARTS, *_VIEW_SCHEMAS)).fetchone(), conn.execute(
        "select string_agg(nspname || ':' || nspowner::regrole::text || ':' || coalesce(nspacl::text, ''), ';'"
        " order by nspname) from pg_namespace where nspname in (%s, %s, %s, %s)", (MARTS, *_VIEW_SCHEMAS)).fetchone()]
    return {what: hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()
            for what, parts in (("access_base", base), ("access_published", published))}


def _fingerprint_table(conn: psycopg.Connection) -> bool:
    return conn.execute("select to_regclass('audit.applied_fingerprint') is not null").fetchone()[0]


def _stored(conn: psycopg.Connection) -> dict[str, str]:
    return dict(conn.execute("select what, fingerprint from audit.applied_fingerprint"
                             " where what in ('access_base', 'access_published')").fetchall())


def _store(conn: psycopg.Connection, values: dict[str, str]) -> None:
    for what, fingerprint in values.items():
        conn.execute("insert into audit.applied_fingerprint (what, fingerprint) values (%s, %s) on conflict (what)"
                     " do update set fingerprint = excluded.fingerprint, applied_at = now()", (what, fingerprint))


def record_published(conn: psycopg.Connection) -> None:
    """After apply_published, in the publish transaction: the published part is applied, so the next prepare
    need not re-apply it (the base part is left to prepare)."""
    if _fingerprint_table(conn):
        _store(conn, {"access_published": fingerprints(conn)["access_published"]})


def _set_owner(conn: psycopg.Connection, schemas: list[str] | None = None, *, everything: bool = False) -> None:
    """lintas_pipeline owns the warehouse's schemas and the migrations' tables, views and functions (where the
    caller may give them away). Only what someone else owns is altered, so a second run takes no locks. dbt's
    staging and intermediate views are left to whoever runs dbt (re-created each build; altering them here could
    deadlock with a running build); published marts are given to lintas_pipeline by apply_published."""
    pipeline = ROLES["pipeline"]
    all_schemas = [r[0] for r in conn.execute(
        "select nspname from pg_namespace where nspname !~ '^pg_'"
        " and nspname not in ('information_schema', 'public', 'marts_build', 'marts_previous')")]
    schemas = schemas or [s for s in all_schemas if everything or s in MIGRATED_SCHEMAS]
    for (schema,) in conn.execute(
            "select nspname from pg_namespace where nspname = any(%s) and nspowner <> %s::regrole"
            " and pg_has_role(current_user, nspowner, 'member')", (all_schemas, pipeline)).fetchall():
        conn.execute(sql.SQL("alter schema {} owner to {}").format(sql.Identifier(schema), sql.Identifier(pipeline)))
    kinds = {"r": "table", "p": "table", "v": "view", "m": "materialized view"}
    for schema, name, kind in conn.execute(
            "select n.nspname, c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = any(%s) and c.relkind in ('r', 'p', 'v', 'm') and c.relowner <> %s::regrole"
            " and pg_has_role(current_user, c.relowner, 'member')", (schemas, pipeline)).fetchall():
        conn.execute(sql.SQL("alter {} {} owner to {}").format(
            sql.SQL(kinds[kind]), sql.Identifier(schema, name), sql.Identifier(pipeline)))
    for (function,) in conn.execute(
            "select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
            " where n.nspname = any(%s) and p.proowner <> %s::regrole"
            " and pg_has_role(current_user, p.proowner, 'member')", (schemas, pipeline)).fetchall():
        conn.execute(sql.SQL("alter function {} owner to {}").format(sql.SQL(function), sql.Identifier(pipeline)))


def _grant_base(conn: psycopg.Connection) -> None:
    """Grants outside the published marts (those do not change with a publish)."""
    db = conn.execute("select current_database()").fetchone()[0]
    r = {k: sql.Identifier(v) for k, v in ROLES.items()}
    run = conn.execute
    if conn.execute("select pg_has_role(current_user, datdba, 'member') from pg_database"
                    " where datname = current_database()").fetchone()[0]:  # not when the pipeline runs this
        run(sql.SQL("grant connect, create, temporary on database {} to {}").format(
            sql.Identifier(db), r["pipeline"]))
    schemas = [s for (s,) in conn.execute(
        "select nspname from pg_namespace where nspname !~ '^pg_' and nspname not in"
        " ('information_schema', 'public', 'marts_build', 'marts_previous')")]
    for schema in schemas:
        s = sql.Identifier(schema)
        run(sql.SQL("grant usage on schema {} to {}").format(s, r["engineer"]))
        if schema not in (IDENTIFIED, PSEUDO, PUBLIC, MARTS):
            run(sql.SQL("grant select, insert, update, delete on all tables in schema {} to {}").format(
                s, r["engineer"]))
            # dbt re-creates the staging and intermediate views on every build (as whoever runs it, i.e. this user)
            run(sql.SQL("alter default privileges in schema {} grant select on tables to {}").format(
                s, r["engineer"]))
    run(sql.SQL("revoke all on access.pseudonym_key from {}").format(r["engineer"]))
    run(sql.SQL("grant usage on schema access to {}").format(sql.SQL(", ").join(r[k] for k in ROLES)))
    run(sql.SQL("revoke execute on function access.log_read(text) from public"))
    run(sql.SQL("grant execute on function access.log_read(text) to {}, {}, {}").format(
        r["analyst"], r["kecamatan"], r["engineer"]))
    if "reference" in schemas:  # code lists and need rules: no person in them
        readers = sql.SQL(", ").join(r[k] for k in ("analyst", "kecamatan", "auditor"))
        run(sql.SQL("grant usage on schema reference to {}").format(readers))
        run(sql.SQL("grant select on all tables in schema reference to {}").format(readers))
        run(sql.SQL("alter default privileges in schema reference grant select on tables to {}").format(readers))
    run(sql.SQL("grant usage on schema audit to {}").format(r["auditor"]))
    run(sql.SQL("grant select on all tables in schema audit to {}").format(r["auditor"]))


def apply_published(conn: psycopg.Connection) -> None:
    """Owner, grants, row-level security and views for the tables now in `marts`. Call inside the transaction
    that swapped them in (lintas.transform.publish does), so no reader sees them unprotected."""
    pipeline = ROLES["pipeline"]
    _set_owner(conn, [MARTS])
    tables = {name: [c for (c,) in conn.execute(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s"
        " order by ordinal_position", (MARTS, name))] for (name,) in conn.execute(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = %s and c.relkind in ('r', 'p') and not c.relispartition order by 1", (MARTS,))}
    # partitions of the large facts (macros/partitioning.sql), by their partitioned table
    partitions: dict[str, list[str]] = {}
    for parent, partition in conn.execute(
            "select p.relname, c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid"
            " join pg_class p on p.oid = i.inhparent join pg_namespace n on n.oid = p.relnamespace"
            " where n.nspname = %s and c.relispartition and c.relkind in ('r', 'p') order by 1, 2", (MARTS,)):
        partitions.setdefault(parent, []).append(partition)
    identified = sorted(t for t in tables if t not in REFERENCE_TABLES | AREA_TABLES)
    r = {k: sql.Identifier(v) for k, v in ROLES.items()}
    marts = sql.Identifier(MARTS)
    # publish copies the old version's grants as "on all tables": start over for everyone but the engineer
    conn.execute(sql.SQL("revoke all on all tables in schema {} from public, {}").format(
        marts, sql.SQL(", ").join(r[k] for k in ("analyst", "kecamatan", "auditor", "public"))))
    conn.execute(sql.SQL("grant usage on schema {} to {}, {}, {}").format(
        marts, r["engineer"], r["analyst"], r["kecamatan"]))
    conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(marts, r["engineer"]))
    for name, columns in tables.items():
        table = sql.Identifier(MARTS, name)
        if name in REFERENCE_TABLES:
            conn.execute(sql.SQL("grant select on {} to {}, {}, {}").format(
                table, r["analyst"], r["kecamatan"], r["auditor"]))
            continue
        # A query on a partitioned table applies its policies to every partition, but a query naming a partition
        # would apply the partition's own: readers are granted the partitioned table only (the revoke above took
        # "all tables" from them), and each partition carries the same policy in case someone grants it anyway.
        for relation in [table] + [sql.Identifier(MARTS, p) for p in partitions.get(name, [])]:
            conn.execute(sql.SQL("alter table {} enable row level security").format(relation))
            conn.execute(sql.SQL("alter table {} force row level security").format(relation))
            conn.execute(sql.SQL("drop policy if exists area_scope on {}").format(relation))
            conn.execute(sql.SQL("create policy area_scope on {} using ({})").format(
                relation, _area_condition(columns)))
        if name in AREA_TABLES:
            conn.execute(sql.SQL("grant select on {} to {}, {}").format(table, r["analyst"], r["kecamatan"]))

    for schema in (IDENTIFIED, PSEUDO, PUBLIC):  # the old views point at the replaced tables: rebuild them
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("create schema {} authorization {}").format(sql.Identifier(schema), r["pipeline"]))
    for name in identified:
        _create_view(conn, IDENTIFIED, name, sql.SQL(
            "select * from {} where (select access.log_read({}))").format(
            sql.Identifier(MARTS, name), sql.Literal(f"{MARTS}.{name}")))
        _create_view(conn, PSEUDO, name, _pseudonymised(name, tables[name]))
    if {"rpt_kelurahan_needs", "rpt_kecamatan_needs"} <= set(tables):
        _create_view(conn, PUBLIC, "kelurahan_needs", _suppressed(
            "rpt_kelurahan_needs", sql.SQL("coalesce(kode_kecamatan, 'TIDAK DIKETAHUI'), rule_code"),
            "kode_kelurahan"))
        _create_view(conn, PUBLIC, "kecamatan_needs", _suppressed(
            "rpt_kecamatan_needs", sql.SQL("rule_code"), "kode_kecamatan"))
    grants = {IDENTIFIED: ("engineer", "analyst", "kecamatan"), PSEUDO: ("engineer", "analyst"),
              PUBLIC: ("engineer", "analyst", "kecamatan", "auditor", "public")}
    for schema, roles in grants.items():
        who = sql.SQL(", ").join(r[k] for k in roles)
        conn.execute(sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(schema), who))
        conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(sql.Identifier(schema), who))
    log.info("access applied to %d published mart table(s) (owner %s)", len(tables), pipeline)


def _area_condition(columns: list[str]) -> sql.Composable:
    """The policy: everyone but kecamatan staff sees every row; they see rows of their assigned kecamatan.
    Both function calls are sub-selects, so each runs once per query, not once per row."""
    if "kode_kecamatan" in columns:
        area = sql.SQL("kode_kecamatan in (select unnest(access.visible_kecamatan()))")
    elif "kode_kelurahan" in columns:  # kelurahan code 35.73.05.1003: its first 8 characters are the kecamatan
        area = sql.SQL("left(kode_kelurahan, 8) in (select unnest(access.visible_kecamatan()))")
    elif "person_id" in columns:  # dim_person's own policy limits this sub-select
        area = sql.SQL("person_id in (select person_id from marts.dim_person)")
    elif "no_kk" in columns:
        area = sql.SQL("no_kk in (select no_kk from marts.dim_household)")
    else:
        area = sql.SQL("false")
    return sql.SQL("(select access.sees_all_areas()) or {}").format(area)


def _create_view(conn, schema: str, name: str, query: sql.Composable) -> None:
    view = sql.Identifier(schema, name)
    conn.execute(sql.SQL("create view {} with (security_barrier) as {}").format(view, query))
    conn.execute(sql.SQL("alter view {} owner to {}").format(view, sql.Identifier(ROLES["pipeline"])))


def _pseudonymised(name: str, columns: list[str]) -> sql.Composable:
    """NIK and No. KK as keyed hashes, names and addresses gone, birth date as the year."""
    out = []
    for col in columns:
        c = sql.Identifier("t", col)
        if col in PSEUDONYMISED:
            out.append(sql.SQL("encode(access.hmac_sha256_padded(k.inner_pad, k.outer_pad, convert_to({}, 'UTF8')),"
                               " 'hex') as {}").format(c, sql.Identifier(f"{col}_pseudonym")))
        elif col == "tanggal_lahir":
            out.append(sql.SQL("extract(year from {})::int as tahun_lahir").format(c))
        elif col in DROPPED_IN_PSEUDO or (col.startswith("nama") and col not in AREA_NAMES):
            continue
        else:
            out.append(c)
    return sql.SQL("select {} from {} as t cross join access.pseudonym_key as k").format(
        sql.SQL(", ").join(out), sql.Identifier(MARTS, name))


def _suppressed(mart: str, group: sql.Composable, cell: str) -> sql.Composable:
    """Counts with cells of 1..4 persons (or households, for household rules) suppressed, and complementary
    suppression (persons and households of a cell go together): where a group
    (a kecamatan's kelurahan for one rule; all kecamatan for one rule) has exactly one suppressed cell, its
    smallest other non-zero cell is suppressed too, so the group total cannot give the small cell back."""
    return sql.SQL("""
with cells as (
    select *, (persons between 1 and {largest_small}
               or (rule_level = 'household' and households between 1 and {largest_small})) as small
    from {mart}
),
ranked as (
    select *,
        count(*) filter (where small) over (partition by {group}) as small_in_group,
        row_number() over (partition by {group} order by small desc, (persons = 0 and households = 0),
                           persons, households, {cell}) as rank_in_group
    from cells
),
flagged as (
    select *, small or (small_in_group = 1 and rank_in_group = 2) as suppressed from ranked
)
select {columns},
    case when suppressed then null else persons end as persons,
    case when suppressed then null else households end as households,
    suppressed
from flagged""").format(largest_small=sql.Literal(SMALL_CELL - 1), mart=sql.Identifier(MARTS, mart), group=group,
                        cell=sql.Identifier(cell),
                        columns=sql.SQL(", ").join(map(sql.Identifier, _public_columns(mart))))


def _public_columns(mart: str) -> list[str]:
    if mart == "rpt_kelurahan_needs":
        return ["as_of_date", "kode_kelurahan", "nama_kelurahan", "kode_kecamatan", "nama_kecamatan", "rule_code",
                "rule_level", "rule_description", "acting_agency"]
    return ["as_of_date", "kode_kecamatan", "nama_kecamatan", "rule_code", "rule_level", "acting_agency"]


def pseudonym_key_from_env() -> bytes | None:
    value = settings.current().pseudonym_key
    return value.encode("utf-8") if value else None


def set_pseudonym_key(conn: psycopg.Connection, key: bytes | None = None) -> bool:
    """Store the HMAC pads of LINTAS_PSEUDONYM_KEY (or `key`). Without either, keep the stored key, or make a
    random one if there is none (pseudonyms are then stable until someone sets a key). Returns if it changed."""
    key = key or pseudonym_key_from_env()
    stored = conn.execute("select key_sha256 from access.pseudonym_key").fetchone()
    if key is None:
        if stored:
            return False
        log.warning("LINTAS_PSEUDONYM_KEY is not set: a random pseudonym key was stored in the warehouse")
        key = secrets.token_bytes(32)
    fingerprint = conn.execute("select encode(sha256(sha256(%s)), 'hex')", (key,)).fetchone()[0]
    if stored and stored[0] == fingerprint:
        return False
    conn.execute(
        "insert into access.pseudonym_key (key_id, inner_pad, outer_pad, key_sha256)"
        " values (1, access.hmac_pad(%(k)s, 54), access.hmac_pad(%(k)s, 92), %(f)s)"
        " on conflict (key_id) do update set inner_pad = excluded.inner_pad, outer_pad = excluded.outer_pad,"
        " key_sha256 = excluded.key_sha256, set_at = now()", {"k": key, "f": fingerprint})
    return True


def grant_login(login: str, role: str, *, kecamatan: list[str] | None = None, password: str | None = None,
                url: str) -> None:
    """Create the login if needed and make it a member of the role (e.g. 'kecamatan'); assign kecamatan."""
    if role not in ROLES:
        raise AccessError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    kecamatan = kecamatan or []
    bad = [k for k in kecamatan if not _KECAMATAN.match(k)]
    if bad or (role == "kecamatan") != bool(kecamatan):
        raise AccessError("kecamatan staff need --kecamatan codes like 35.73.05 (and only they): "
                          f"got {kecamatan or 'none'}")
    with warehouse.connect(url) as conn:
        ensure_roles(conn)
        ident = sql.Identifier(login)
        try:
            with conn.transaction():
                conn.execute(sql.SQL("create role {} login").format(ident))
        except (errors.DuplicateObject, errors.UniqueViolation):
            pass
        if password:
            conn.execute(sql.SQL("alter role {} password {}").format(ident, sql.Literal(password)))
        if role == "pipeline":  # its sessions act as the group role, so what dbt and the DAGs create it owns
            conn.execute(sql.SQL("alter role {} set role = {}").format(ident, sql.Literal(ROLES["pipeline"])))
        conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(ROLES[role]), ident))
        for code in kecamatan:
            conn.execute("insert into access.kecamatan_assignment (login, kode_kecamatan) values (%s, %s)"
                         " on conflict do nothing", (login, code))


def revoke_login(login: str, url: str, *, drop: bool = False) -> None:
    """Take the login out of every lintas role and its kecamatan assignments (of this database); drop it."""
    with warehouse.connect(url) as conn:
        for role in ROLES.values():
            conn.execute(sql.SQL("revoke {} from {}").format(sql.Identifier(role), sql.Identifier(login)))
        conn.execute("delete from access.kecamatan_assignment where login = %s", (login,))
        if drop:
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(login)))


ROLE_NOTES = {
    "kecamatan": "rows of its assigned kecamatan only (row-level security); identified reads logged",
    "analyst": "identified reads logged in audit.access_log",
    "public": "persons/households of 1..4 suppressed, with complementary cells",
    "auditor": "no identities, no raw or quarantined rows",
    "engineer": "everything but the pseudonym key",
    "pipeline": "owner of the schemas and published marts",
}


def describe(url: str) -> str:
    """A table: per role, how many tables/views of each schema it may select from (privileges as granted)."""
    with warehouse.connect(url) as conn:
        rows = conn.execute(
            "select r.rolname, n.nspname, count(*) from pg_roles r cross join pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace"
            " where r.rolname = any(%s) and c.relkind in ('r', 'p', 'v', 'm') and not c.relispartition"
            " and n.nspname !~ '^pg_'"
            " and n.nspname not in ('information_schema', 'marts_build', 'marts_previous')"
            " and has_schema_privilege(r.oid, n.oid, 'USAGE') and has_table_privilege(r.oid, c.oid, 'SELECT')"
            " group by 1, 2 order by 1, 2", (list(ROLES.values()),)).fetchall()
        logins = dict(conn.execute(
            "select g.rolname, count(*) from pg_auth_members m join pg_roles g on g.oid = m.roleid"
            " join pg_roles l on l.oid = m.member where l.rolcanlogin and g.rolname = any(%s) group by 1",
            (list(ROLES.values()),)).fetchall())
    readable: dict[str, list[str]] = {}
    for role, schema, count in rows:
        readable.setdefault(role, []).append(f"{schema} ({count})")
    lines = [f"{'role':<18} {'logins':>6}  may read (tables and views per schema)"]
    for short, role in ROLES.items():
        lines.append(f"{role:<18} {logins.get(role, 0):>6}  {', '.join(readable.get(role, [])) or '-'}")
        lines.append(f"{'':<27}{ROLE_NOTES[short]}")
    return "\n".join(lines)
