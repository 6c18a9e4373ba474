"""docker-compose.yml is for deployments (no Docker engine here): check it by parsing it."""

import re
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
    """Resolve ${VAR:-default} to its default, as compose does with no .env; a required ${VAR:?message} becomes
    <VAR> (compose would refuse to start without it)."""
    out = value
    while "${" in out:
        start = out.index("${")
        end = out.index("}", start)
        expr = out[start + 2:end]
        name = re.split(r"[:?-]", expr, maxsplit=1)[0]
        default = expr.split(":-", 1)[1] if ":-" in expr else f"<{name}>"
        out = out[:start] + default + out[end + 1:]
    return out


def _variables(text: str) -> dict[str, list[str]]:
    """VAR -> every ${VAR...} expression of the compose file, as written (comments aside)."""
    found: dict[str, list[str]] = {}
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    for expr in re.findall(r"\$\{([^}]*)\}", code):
        found.setdefault(re.split(r"[:?-]", expr, maxsplit=1)[0], []).append(expr)
    return found


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
        for folder in ("dags", "plugins", "include", "dbt_project", "expectations"):
            assert mounts[f"/opt/lintas/{folder}"] == f"./{folder}", (name, folder)
            assert (ROOT / folder).is_dir()
        env = service["environment"]
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/lintas/dags"
        assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == "/opt/lintas/plugins"
        assert env["LINTAS_PROJECT_ROOT"] == "/opt/lintas"
        assert env["LINTAS_HOME"] in mounts
        for agency in ("DINSOS", "DISKOPINDAG"):  # the file channels
            assert env[f"LINTAS_OUTBOX_{agency}"].startswith(next(m for m in mounts if "outbox" in m))
        # the API and database channels are configured here (or by Airflow connections)
        assert {"LINTAS_DAPODIK_URL", "LINTAS_DAPODIK_TOKEN", "LINTAS_DPMPTSP_URL"} <= set(env)


def test_the_image_leaves_the_sandbox_out(compose):
    """The generator, the agencies' stand-ins and the demo (sandbox/) are development tooling: the image copies
    named folders only, none of them the sandbox, installs only the `lintas` project, and no service mounts it."""
    assert (ROOT / "sandbox" / "lintas_sandbox").is_dir()
    instructions = [line.split() for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
                    if line.strip() and not line.lstrip().startswith("#")]
    copied = [word for words in instructions if words[0] in ("COPY", "ADD")
              for word in words[1:-1] if not word.startswith("--")]
    assert copied and "include" in copied
    assert not [c for c in copied if c in (".", "./", "*") or c.startswith(("sandbox", "./sandbox"))], copied
    assert not [words for words in instructions if "sandbox" in " ".join(words)]
    celery = yaml.safe_load((ROOT / "docker-compose.celery.yml").read_text(encoding="utf-8"))
    for name, service in [*compose["services"].items(), *celery["services"].items()]:
        for volume in service.get("volumes", []):
            assert "sandbox" not in _default(volume).split(":")[0], (name, volume)


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


REQUIRED_SECRETS = ["AIRFLOW_JWT_SECRET", "AIRFLOW_DB_PASSWORD", "WAREHOUSE_PASSWORD", "AIRFLOW_FERNET_KEY",
                    "LINTAS_PSEUDONYM_KEY"]


def test_a_missing_secret_stops_the_deployment():
    """Every password and key is required (${VAR:?message}); none falls back to a known value."""
    variables = _variables((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    for name in REQUIRED_SECRETS:
        assert variables.get(name), f"{name} is not used in docker-compose.yml"
        for expr in variables[name]:
            assert expr.startswith(f"{name}:?"), f"{name} must be required, found ${{{expr}}}"
    for name, exprs in variables.items():
        if re.search(r"PASSWORD|SECRET|TOKEN|KEY", name):
            assert all(":-" not in e or e.endswith(":-") for e in exprs), f"{name} has a fallback value"


def test_the_pseudonym_key_reaches_the_pipeline(compose):
    for name in AIRFLOW_SERVICES:
        assert _default(compose["services"][name]["environment"]["LINTAS_PSEUDONYM_KEY"]) == "<LINTAS_PSEUDONYM_KEY>"


def test_the_warehouse_port_is_published_on_loopback_unless_chosen(compose):
    """Personal data is not served to the network by accident: the port binds to 127.0.0.1 unless the operator
    sets WAREHOUSE_BIND_ADDRESS; no other service publishes a database port."""
    ports = compose["services"]["warehouse"]["ports"]
    assert ports and all(_default(p).startswith("127.0.0.1:") for p in ports), ports
    assert all("${WAREHOUSE_BIND_ADDRESS" in p for p in ports)
    assert "ports" not in compose["services"]["airflow-metadata"]


def test_env_example_lists_every_secret_without_a_value():
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    values = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    for name in [*REQUIRED_SECRETS, "LINTAS_DAPODIK_TOKEN", "LINTAS_DPMPTSP_URL"]:
        assert values.get(name) == "", f".env.example must list {name} with an empty value"
    compose_vars = _variables((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    required = {name for name, exprs in compose_vars.items() if any(":?" in e for e in exprs)}
    assert required <= set(values), "every variable compose requires is listed in .env.example"
