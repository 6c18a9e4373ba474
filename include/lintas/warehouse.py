"""The warehouse connection: WAREHOUSE_URL if set, otherwise an embedded PostgreSQL under LINTAS_HOME."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from urllib.parse import parse_qs, unquote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from lintas import settings

EMBEDDED_DATABASE = "lintas"


class WarehouseError(RuntimeError):
    pass


def embedded_url(database: str = EMBEDDED_DATABASE) -> str:
    """Start (or reuse) the embedded PostgreSQL and return a URL for `database`.

    The server keeps running after this process exits so Airflow tasks, dbt and GX share it.
    """
    settings.lintas_home().mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: no XDG_RUNTIME_DIR on servers; /tmp fallback is fine
        import pgserver  # imported lazily: only the embedded default needs it

        server = pgserver.get_server(settings.lintas_home() / "pgdata", cleanup_mode=None)
    return server.get_uri(database)


def stop_embedded() -> bool:
    """Stop the embedded PostgreSQL if it runs. Returns whether it was running."""
    pgdata = settings.lintas_home() / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

    user = "pgserver" if os.geteuid() == 0 else None  # pgserver runs the server as this user under root
    pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    return True


def warehouse_url() -> str:
    return settings.current().warehouse_url or embedded_url()


def redact(url: str) -> str:
    """URL safe to print: password removed."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def with_database(url: str, database: str) -> str:
    """The same server (TCP or socket directory), another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


def database_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name:
        raise WarehouseError(f"warehouse URL has no database name: {redact(url)}")
    return unquote(name)


def ensure_database(url: str) -> None:
    """Create the URL's database if it does not exist (connecting to the server's `postgres` DB)."""
    name = database_name(url)
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))


def drop_database(url: str) -> None:
    name = database_name(url)
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@contextmanager
def connect(url: str, **kwargs) -> Iterator[psycopg.Connection]:
    """Autocommit by default: writers group statements with `conn.transaction()`, which is then a real
    transaction that commits when its block ends (not a savepoint inside one long implicit transaction)."""
    kwargs.setdefault("autocommit", True)
    with psycopg.connect(url, **kwargs) as conn:
        yield conn


def libpq_parts(url: str) -> dict[str, str]:
    """Host/port/user/password/dbname of a URL; a socket directory (`?host=/dir`) counts as host."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or "localhost"])[0]
    return {
        "host": host,
        "port": str(parts.port or query.get("port", ["5432"])[0]),
        "user": unquote(parts.username or "postgres"),
        "password": unquote(parts.password or ""),
        "dbname": database_name(url),
    }


def sqlalchemy_url(url: str) -> str:
    """The same warehouse as a SQLAlchemy URL (psycopg 3 driver)."""
    parts = libpq_parts(url)
    auth = parts["user"] + (f":{parts['password']}" if parts["password"] else "")
    if parts["host"].startswith("/"):
        return f"postgresql+psycopg://{auth}@/{parts['dbname']}?" + urlencode(
            {"host": parts["host"], "port": parts["port"]}
        )
    return f"postgresql+psycopg://{auth}@{parts['host']}:{parts['port']}/{parts['dbname']}"


def migrate(url: str) -> list[str]:
    """Apply the package's SQL migrations (raw, audit, quarantine schemas) in order, once each."""
    applied: list[str] = []
    files = sorted(
        (f for f in resources.files("lintas.sql").iterdir() if f.name.endswith(".sql")),
        key=lambda f: f.name,
    )
    with connect(url) as conn, conn.transaction():  # all migrations, or none
        conn.execute("create schema if not exists audit")
        conn.execute(
            "create table if not exists audit.schema_migration ("
            " name text primary key, applied_at timestamptz not null default now())"
        )
        # Serialise concurrent migrators (parallel DAG runs start with this).
        conn.execute("select pg_advisory_xact_lock(hashtext('lintas.migrate'))")
        done = {row[0] for row in conn.execute("select name from audit.schema_migration")}
        for f in files:
            if f.name in done:
                continue
            conn.execute(f.read_text(encoding="utf-8"))
            conn.execute("insert into audit.schema_migration (name) values (%s)", (f.name,))
            applied.append(f.name)
    return applied


def prepare(url: str) -> str:
    """Create the database if needed, bring its schemas up to date and apply the access rules (roles, grants,
    policies: lintas.access). Returns the URL used."""
    ensure_database(url)
    migrate(url)
    from lintas import access  # imports this module

    access.apply(url)
    return url
