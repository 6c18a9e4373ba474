"""Scale-out: the unchanged DAGs run under the CeleryExecutor with two workers, Airflow's metadata in PostgreSQL,
Redis as the broker, and every component (scheduler, DAG processor, API server, workers) a process of its own.
"""

import os
import shutil
import subprocess

import pytest
import redis

from lintas import warehouse
from tests.fixtures.airflow_cluster import AirflowCluster, free_port, wait_for
from tests.fixtures.dtks_files import good_file

EXTRACT, BUILD = "lintas_extract_dinsos_dtks", "lintas_build_warehouse"
RUN_TIMEOUT = 1200  # both runs, seconds: the build is ~70 tasks (a dbt model or its tests each) via Celery
REDIS_URL = os.environ.get("LINTAS_TEST_REDIS_URL", "redis://127.0.0.1:6379")  # the broker; db number chosen per run


def _answers(url: str) -> bool:
    try:
        return redis.Redis.from_url(url, socket_timeout=3).ping()
    except redis.RedisError:
        return False


@pytest.fixture
def redis_url(tmp_path):
    """The machine's Redis; where none answers, a private redis-server for this test (as PostgreSQL's embedded
    stand-in in tests/conftest.py), so the test runs rather than skips."""
    if _answers(REDIS_URL):
        yield REDIS_URL
        return
    server = shutil.which("redis-server")
    assert server, f"no Redis at {REDIS_URL} (LINTAS_TEST_REDIS_URL) and no redis-server to start"
    port = free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"redis://127.0.0.1:{port}"
        wait_for(lambda: _answers(url), 30, "the private redis-server", interval=0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.celery
def test_extract_and_build_run_on_two_celery_workers(postgres_server_url, warehouse_url, outbox, redis_url, tmp_path):
    good_file(outbox, count=24)
    cluster = AirflowCluster(tmp_path, postgres_server_url, redis_url)
    try:
        with cluster:
            cluster.wait_until_parsed([EXTRACT, BUILD])
            extract_run, extract_state = cluster.run_dag(EXTRACT, timeout=RUN_TIMEOUT / 2)
            extract_tasks = cluster.task_instances(EXTRACT, extract_run)
            assert extract_state == "success", extract_tasks
            build_run, build_state = cluster.run_dag(BUILD, timeout=RUN_TIMEOUT / 2)
            build_tasks = cluster.task_instances(BUILD, build_run)
            assert build_state == "success", build_tasks
    except BaseException:
        print(cluster.log_tails())
        raise

    ran = [(task, host) for tasks in (extract_tasks, build_tasks) for task, (state, host) in tasks.items()
           if state == "success"]
    hosts = {host for _, host in ran if host}
    assert hosts == {"worker1", "worker2"}, ran  # both workers took tasks, and nothing ran anywhere else
    # a dbt model's task that deferred while the build ran is finished by the triggerer, which records no host
    finished_by_triggerer = [task for task, host in ran if not host]
    assert all(task.endswith((".run", ".test", "_watcher_done")) for task in finished_by_triggerer), ran
    assert build_tasks["publish"][0] == "success" and build_tasks["gate_marts"][0] == "success"

    with warehouse.connect(warehouse_url) as conn:
        kelurahan_counts = conn.execute("select * from marts.rpt_dtks_kelurahan_summary").fetchall()
        batches = conn.execute("select status, airflow_run_id from audit.load_batch").fetchall()
        published = conn.execute("select airflow_run_id, outcome from audit.publish_event"
                                 " where airflow_dag_id = %s", (BUILD,)).fetchall()
    assert sum(row[5] for row in kelurahan_counts) == 24
    assert batches == [("accepted", extract_run)]
    assert published == [(build_run, "published")]
