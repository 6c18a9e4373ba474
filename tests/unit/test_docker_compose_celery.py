"""docker-compose.celery.yml (the CeleryExecutor override of docker-compose.yml): checked by parsing both files,
merged the way `docker compose -f docker-compose.yml -f docker-compose.celery.yml` merges them."""

import re
from urllib.parse import urlsplit

import pytest
import yaml

from lintas import settings

ROOT = settings.project_root()
COMPONENTS = ["airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"]
REQUIRED = re.compile(r"^\$\{(\w+):\?[^}]+\}$")  # ${VAR:?message}: compose refuses to start without it


@pytest.fixture(scope="module")
def base():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def celery():
    return yaml.safe_load((ROOT / "docker-compose.celery.yml").read_text(encoding="utf-8"))


def _resolved(services: dict, name: str, files: dict) -> dict:
    """A service with its `extends` applied (environment merged key by key, the rest replaced)."""
    service = dict(services[name])
    extends = service.pop("extends", None)
    if extends:
        parent = _resolved(files[extends["file"]]["services"], extends["service"], files)
        env = {**parent.get("environment", {}), **service.get("environment", {})}
        service = {**parent, **service, "environment": env}
    return service


def _merged_env(base: dict, celery: dict, name: str) -> dict:
    return {**base["services"][name]["environment"], **celery["services"].get(name, {}).get("environment", {})}


def _url_parts(url: str):
    """Split a compose URL whose password is a ${VAR:?...} placeholder."""
    placeholder = re.search(r"\$\{\w+:\?[^}]+\}", url)
    parts = urlsplit(url.replace(placeholder.group(0), "SECRET")) if placeholder else urlsplit(url)
    return parts, placeholder.group(0) if placeholder else None


def test_every_component_switches_to_celery_with_the_broker_from_env(base, celery):
    for name in COMPONENTS:
        env = _merged_env(base, celery, name)
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        broker, password = _url_parts(env["AIRFLOW__CELERY__BROKER_URL"])
        assert (broker.scheme, broker.hostname, broker.port) == ("redis", "redis", 6379), name
        assert REQUIRED.match(password).group(1) == "REDIS_PASSWORD", "the broker password comes from .env"
        backend, db_password = _url_parts(env["AIRFLOW__CELERY__RESULT_BACKEND"])
        assert backend.scheme == "db+postgresql" and backend.hostname == "airflow-metadata"
        assert REQUIRED.match(db_password).group(1) == "AIRFLOW_DB_PASSWORD"


def test_redis_requires_the_same_password(celery):
    redis = celery["services"]["redis"]
    assert redis["image"].startswith("redis:")
    assert REQUIRED.match(redis["environment"]["REDISCLI_AUTH"]).group(1) == "REDIS_PASSWORD"
    assert "--requirepass" in " ".join(redis["command"])
    assert redis["healthcheck"]["test"][-1] == "ping"
    assert "ports" not in redis, "the broker is not published outside the compose network"


def test_workers_run_the_same_image_and_wait_for_redis(base, celery):
    files = {"docker-compose.yml": base, "docker-compose.celery.yml": celery}
    scheduler = base["services"]["airflow-scheduler"]
    for name in ("airflow-worker", "flower"):
        service = _resolved(celery["services"], name, files)
        assert service["image"] == scheduler["image"] and service["build"] == scheduler["build"], name
        assert service["volumes"] == scheduler["volumes"], name
        assert service["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert service["environment"]["AIRFLOW__CELERY__BROKER_URL"] == (
            celery["services"]["airflow-scheduler"]["environment"]["AIRFLOW__CELERY__BROKER_URL"])
        assert service["depends_on"]["redis"]["condition"] == "service_healthy", name
        assert service["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully", name
        # the shared JWT secret and execution API URL come with the common environment
        assert "AIRFLOW__API_AUTH__JWT_SECRET" in service["environment"], name
        assert service["environment"]["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith(
            "http://airflow-apiserver:8080/")
        for dependency in service["depends_on"]:
            assert dependency in base["services"] or dependency in celery["services"], (name, dependency)
    worker = celery["services"]["airflow-worker"]
    assert worker["command"] == "celery worker"
    assert "inspect ping" in worker["healthcheck"]["test"][-1]
    assert celery["services"]["flower"]["profiles"] == ["flower"], "Flower is optional"
    assert REQUIRED.match(celery["services"]["flower"]["environment"]["AIRFLOW__CELERY__FLOWER_BASIC_AUTH"])


def test_overridden_services_exist_in_the_base_file(base, celery):
    own = {"redis", "airflow-worker", "flower"}
    assert set(celery["services"]) - own == set(COMPONENTS)
    assert set(COMPONENTS) <= set(base["services"])
