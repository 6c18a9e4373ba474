"""docker-compose.yml is for deployments (no Docker engine here): check it by parsing it."""

from urllib.parse import urlsplit

import pytest
import yaml

from lintas import settings

ROOT = settings.project_root()
AIRFLOW_SERVICES = ["airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer"]


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def _default(value: str) -> str:
    """Resolve ${VAR:-default} to its default, as compose does with no .env."""
    out = value
    while "${" in out:
        start = out.index("${")
        end = out.index("}", start)
        expr = out[start + 2:end]
        default = expr.split(":-", 1)[1] if ":-" in expr else "x"
        out = out[:start] + default + out[end + 1:]
    return out


def test_services_present(compose):
    assert set(AIRFLOW_SERVICES + ["airflow-metadata", "warehouse"]) <= set(compose["services"])


def test_images(compose):
    services = compose["services"]
    assert services["warehouse"]["image"].startswith("postgres:")
    assert services["airflow-metadata"]["image"].startswith("postgres:")
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "FROM apache/airflow:3.3.2-python3.11" in dockerfile
    for name in AIRFLOW_SERVICES:
        assert services[name]["build"] == "."
        assert "lintas-airflow" in services[name]["image"]


def test_project_folders_are_mounted_where_the_env_points(compose):
    for name in AIRFLOW_SERVICES:
        service = compose["services"][name]
        mounts = {_default(v).split(":")[1]: _default(v).split(":")[0] for v in service["volumes"]}
        for folder in ("dags", "include", "dbt_project", "expectations"):
            assert mounts[f"/opt/lintas/{folder}"] == f"./{folder}", (name, folder)
            assert (ROOT / folder).is_dir()
        env = service["environment"]
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/lintas/dags"
        assert env["LINTAS_PROJECT_ROOT"] == "/opt/lintas"
        assert env["LINTAS_HOME"] in mounts
        for agency in ("DINSOS", "DISKOPINDAG"):  # the file channels
            assert env[f"LINTAS_OUTBOX_{agency}"].startswith(next(m for m in mounts if "outbox" in m))
        # the API and database channels are configured here (or by Airflow connections)
        assert {"LINTAS_DAPODIK_URL", "LINTAS_DAPODIK_TOKEN", "LINTAS_DPMPTSP_URL"} <= set(env)


def test_warehouse_and_metadata_connections_match_their_services(compose):
    services = compose["services"]
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        warehouse = urlsplit(_default(env["WAREHOUSE_URL"]))
        wh_env = {k: _default(v) for k, v in services["warehouse"]["environment"].items()}
        assert warehouse.hostname == "warehouse"
        assert (warehouse.username, warehouse.password, warehouse.path.lstrip("/")) == (
            wh_env["POSTGRES_USER"], wh_env["POSTGRES_PASSWORD"], wh_env["POSTGRES_DB"])

        meta = urlsplit(_default(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]))
        meta_env = {k: _default(v) for k, v in services["airflow-metadata"]["environment"].items()}
        assert meta.hostname == "airflow-metadata"
        assert (meta.username, meta.password, meta.path.lstrip("/")) == (
            meta_env["POSTGRES_USER"], meta_env["POSTGRES_PASSWORD"], meta_env["POSTGRES_DB"])
        assert warehouse.hostname != meta.hostname, "the warehouse is not Airflow's metadata DB"

        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("http://airflow-apiserver:8080/")
        assert "JWT_SECRET" in "".join(env), "components must share one JWT secret"


def test_dependencies_name_real_services(compose):
    services = compose["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, (name, dependency)
    for name in AIRFLOW_SERVICES[1:]:
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    for name in ("warehouse", "airflow-metadata"):
        assert compose["services"][name]["healthcheck"]
        assert any(v.split(":")[0] in compose["volumes"] for v in services[name]["volumes"])
