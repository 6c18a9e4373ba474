"""What engineers and auditors see, checked in a real browser: the Airflow grid of the build DAG, the run report
and a Data Docs validation page, opened in Debian's headless Chromium (driven by Playwright) after a demo run.
Screenshots go to LINTAS_HOME/ui/ (git-ignored). Run it with `make check-ui` (or `lintas check-ui`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from lintas import settings
from lintas.quality import gate

BUILD_DAG = "lintas_build_warehouse"
CHROMIUM = "/usr/bin/chromium"


@dataclass
class UiCheck:
    screenshots: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def airflow_ui(timeout: float = 180):
    """The Airflow API server (UI included) of this project's Airflow home on a free loopback port. Local checks
    only: every user is an admin (SimpleAuthManager's all-admins switch), so never for a shared deployment."""
    port = _free_port()
    env = settings.child_environment({
        **settings.airflow_environment(), "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{settings.current().environment.get('PATH', '')}"})
    log = settings.lintas_home() / "ui" / "api-server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen([str(Path(sys.executable).with_name("airflow")), "api-server", "--port", str(port),
                                 "--host", "127.0.0.1"], env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"airflow api-server exited with {proc.returncode}; see {log}")
            try:
                if httpx.get(f"{base}/api/v2/monitor/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"airflow api-server did not answer within {timeout:.0f}s; see {log}")
            time.sleep(1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def build_dag_tasks() -> list[str]:
    """Names the grid must show: every task of the build DAG, a task group's tasks by their own names (the group
    itself is the row above them)."""
    settings.export_for_in_process_libraries(settings.airflow_environment())
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(settings.dags_dir())).dags[BUILD_DAG]
    names = []
    for t in dag.topological_sort():  # "marts.dim_person.run": the grid shows "dim_person" with "run" under it
        names += [part for part in t.task_id.split(".")[1:] or [t.task_id] if part not in names]
    return names


def check(expected_tasks: list[str], out_dir: Path | None = None) -> UiCheck:
    """Open the three pages, save a screenshot of each, and list what is missing from them."""
    from playwright.sync_api import sync_playwright

    out_dir = out_dir or settings.lintas_home() / "ui"
    out_dir.mkdir(parents=True, exist_ok=True)
    result = UiCheck()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        # tall enough that the grid (a scrolled, windowed list) renders every task of the build DAG
        page = browser.new_page(viewport={"width": 1600, "height": 6000})
        with airflow_ui() as base:
            page.goto(f"{base}/dags/{BUILD_DAG}", wait_until="networkidle")
            page.get_by_text(expected_tasks[0], exact=False).first.wait_for(timeout=60_000)
            expand = page.get_by_role("button", name="Expand all")  # task groups start collapsed
            if expand.count():
                expand.first.click()
                page.wait_for_timeout(1500)
            text = page.inner_text("body")
            result.problems += [f"Airflow grid: task {t} not shown" for t in expected_tasks if t not in text]
            result.screenshots.append(_shot(page, out_dir / "airflow-build-grid.png"))
        report = settings.reports_dir() / "index.html"
        if report.is_file():
            page.goto(report.as_uri(), wait_until="load")
            if "Lintas: data-quality run report" not in page.inner_text("body"):
                result.problems.append("run report: title missing")
            result.screenshots.append(_shot(page, out_dir / "run-report.png"))
        else:
            result.problems.append(f"run report not found at {report} (run `make demo` first)")
        validations = sorted(gate.data_docs_site().glob("validations/**/*.html"), key=lambda p: p.stat().st_mtime)
        if validations:
            page.goto(validations[-1].as_uri(), wait_until="load")
            if page.locator("i.fa-check-circle, i.fa-times").count() == 0:
                result.problems.append("Data Docs: no pass/fail icons on the newest validation page")
            result.screenshots.append(_shot(page, out_dir / "data-docs-validation.png"))
        else:
            result.problems.append("Data Docs: no validation page built yet (run `make demo` first)")
        browser.close()
    return result


def _shot(page, path: Path) -> Path:
    page.screenshot(path=str(path), full_page=True)
    return path
