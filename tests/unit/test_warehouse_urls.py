import pytest

from lintas import warehouse


def test_libpq_parts_tcp():
    # secret-scan: fake (made-up credentials in this module's URLs)
    parts = warehouse.libpq_parts("postgresql://lintas:s3cret@db.example:6543/gudang")
    assert parts == {"host": "db.example", "port": "6543", "user": "lintas", "password": "s3cret",
                     "dbname": "gudang"}


def test_libpq_parts_socket_directory():
    parts = warehouse.libpq_parts("postgresql://postgres:@/lintas?host=/srv/lintas/pgdata")
    assert parts["host"] == "/srv/lintas/pgdata" and parts["dbname"] == "lintas" and parts["port"] == "5432"


def test_sqlalchemy_url_keeps_socket_and_credentials():
    assert warehouse.sqlalchemy_url("postgresql://postgres:@/lintas?host=/x/pg") == (
        "postgresql+psycopg://postgres@/lintas?host=%2Fx%2Fpg&port=5432")
    # secret-scan: fake
    assert warehouse.sqlalchemy_url("postgresql://u:p@h:5433/d") == "postgresql+psycopg://u:p@h:5433/d"


def test_redact_hides_password():
    assert warehouse.redact("postgresql://u:topsecret@h/d") == "postgresql://u:***@h/d"  # secret-scan: fake
    assert "topsecret" not in warehouse.redact("postgresql://u:topsecret@h/d")  # secret-scan: fake


def test_url_without_database_is_an_error():
    with pytest.raises(warehouse.WarehouseError, match="no database name"):
        warehouse.database_name("postgresql://u@h:5432")
