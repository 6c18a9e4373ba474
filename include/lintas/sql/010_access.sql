-- Access control (UU 27/2022 PDP): who sees which person, and a record of who read identified data.
-- The roles, grants, row-level security policies and the views over the published marts are applied by
-- lintas.access (at prepare and inside every publish transaction); this migration holds what does not change
-- with a publish: the kecamatan assignments, the pseudonym key, the access log and the SQL functions.
create schema if not exists access;

-- Which kecamatan a kecamatan/TKSK login may see. Logins, not role names, carry the area: one group role
-- lintas_kecamatan, any number of assignments per login.
create table if not exists access.kecamatan_assignment (
    login           name not null,
    kode_kecamatan  text not null check (kode_kecamatan ~ '^\d{2}\.\d{2}\.\d{2}$'),
    assigned_at     timestamptz not null default now(),
    primary key (login, kode_kecamatan)
);

-- The pseudonym key (from LINTAS_PSEUDONYM_KEY, set by lintas.access at prepare/publish) and the HMAC pads
-- derived from it, so a view hashes a value with two sha256() calls. Readable by the owner (lintas_pipeline)
-- only; views owned by it read the pads, the people querying those views never see them.
create table if not exists access.pseudonym_key (
    key_id      int primary key default 1 check (key_id = 1),
    inner_pad   bytea not null,
    outer_pad   bytea not null,
    key_sha256  text not null,              -- sha256 of sha256(key): tells keys apart without revealing them
    set_at      timestamptz not null default now()
);
revoke all on access.pseudonym_key from public;

-- Reads of identified marts (through the views of schema `identified`, the only way analysts and kecamatan
-- staff can read them). One row per query that touched a view; rows is null where it cannot be measured.
create table if not exists audit.access_log (
    access_log_id   bigserial primary key,
    login           name not null default session_user,
    accessed_at     timestamptz not null default clock_timestamp(),
    relation        text not null,
    rows_read       bigint,
    via             text not null,
    backend_pid     int not null default pg_backend_pid(),
    transaction_id  xid8 not null default pg_current_xact_id()
);
create index if not exists access_log_login on audit.access_log (login, accessed_at);

-- HMAC-SHA256 from PostgreSQL's own sha256() (no pgcrypto in the embedded server):
-- HMAC(K, m) = sha256((K' xor opad) || sha256((K' xor ipad) || m)), K' = K (sha256(K) if longer than 64 bytes)
-- padded with zero bytes to 64. RFC 2104.
create or replace function access.hmac_pad(key bytea, pad int) returns bytea
language sql immutable strict parallel safe as $$
    select decode(string_agg(lpad(to_hex(get_byte(padded, i) # pad), 2, '0'), '' order by i), 'hex')
    from (
        select k || decode(repeat('00', 64 - length(k)), 'hex') as padded
        from (select case when length(key) > 64 then sha256(key) else key end as k) as shortened
    ) as block, generate_series(0, 63) as i
$$;

create or replace function access.hmac_sha256_padded(inner_pad bytea, outer_pad bytea, msg bytea) returns bytea
language sql immutable strict parallel safe as $$
    select sha256(outer_pad || sha256(inner_pad || msg))
$$;

create or replace function access.hmac_sha256(key bytea, msg bytea) returns bytea
language sql immutable strict parallel safe as $$
    select access.hmac_sha256_padded(access.hmac_pad(key, 54), access.hmac_pad(key, 92), msg)  -- 0x36, 0x5c
$$;

-- Auditors see how much was quarantined, per batch, field and rule, never the quarantined rows.
create or replace view audit.quarantine_summary as
select batch_id, source, field, rule, count(*) as rows_quarantined, min(quarantined_at) as first_quarantined_at
from quarantine.row_error
group by batch_id, source, field, rule;

-- Row-level security asks these two (lintas.access puts them into every policy, each evaluated once per query).
-- Security definer: kecamatan staff need no access to the assignment table. Keyed on session_user, the login,
-- so neither SET ROLE nor a view owned by someone else changes whose rows a kecamatan login sees.
create or replace function access.sees_all_areas() returns boolean
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
    select coalesce((select rolsuper from pg_roles where rolname = session_user), false)
        or not pg_has_role(session_user, 'lintas_kecamatan', 'member')
$$;

create or replace function access.visible_kecamatan() returns text[]
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
    select coalesce(array_agg(kode_kecamatan), '{}') from access.kecamatan_assignment where login = session_user
$$;

-- Called once per query by every view of schema `identified` (as an init plan). Writes the table row
-- (transactional: lost if the reader rolls back) and a server log line (kept even then).
create or replace function access.log_read(relation text) returns boolean
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp as $$
begin
    insert into audit.access_log (relation, via) values (relation, 'identified view');
    raise log 'lintas access: % read identified %', session_user, relation;
    return true;
end
$$;
