"""The review page as analysts reach it: plugins/lintas_review.py loaded by Airflow's plugin manager into the
Airflow api-server app, behind Airflow's login (a JWT from the auth manager, as its login page sets it). In headless
Chromium an analyst decides a pair on the page; the next linkage run honours the decision."""

import secrets
import shutil
import socket
import threading
import time

import pytest
from fastapi.testclient import TestClient

from lintas import warehouse
from tests.fixtures.review_pairs import DEWI, RIZKI, deliver, link_run, person_of_record

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PREFIX = "/lintas-review"


@pytest.fixture
def api_server(airflow_db, warehouse_url, outbox, outbox_for, monkeypatch):
    """The Airflow api-server app with the project's plugins, a warehouse with two review pairs, and a function
    that signs a user in (the `_token` cookie of Airflow's UI)."""
    from airflow.api_fastapi.app import create_app, get_auth_manager

    # as a deployment configures it: the api-server's start-up (its lifespan) refuses to run without a JWT secret
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_urlsafe(32))
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    deliver(outbox, outbox_for)
    assert link_run(1)["review_pairs"] == 2
    app = create_app()

    def token(login: str, role: str = "viewer") -> str:
        return get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=login, role=role))

    return app, token, warehouse_url


def test_the_plugin_serves_the_review_page_to_signed_in_users_only(api_server):
    app, token, url = api_server
    client = TestClient(app)
    assert client.get(f"{PREFIX}/").status_code == 401
    assert client.get(f"{PREFIX}/", cookies={"_token": "forged"}).status_code == 403
    page = client.get(f"{PREFIX}/", cookies={"_token": token("analyst-1")})
    assert page.status_code == 200 and DEWI[1] in page.text and "signed in as analyst-1" in page.text
    menu = client.get("/api/v2/plugins", headers={"Authorization": f"Bearer {token('admin-1', 'admin')}"})
    assert menu.status_code == 200
    (plugin,) = [p for p in menu.json()["plugins"] if p["name"] == "lintas_review"]
    assert plugin["external_views"][0]["href"] == "lintas-review/", "a relative link in the UI's navigation"


@pytest.fixture
def served(api_server):
    """The api-server app on a local port (uvicorn in a thread), as Chromium reaches it."""
    import uvicorn

    app, token, url = api_server
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "api-server did not start"
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}", token, url
    server.should_exit = True
    thread.join(timeout=10)


def test_an_analyst_decides_a_pair_in_the_browser_and_the_next_run_honours_it(served):
    from playwright.sync_api import sync_playwright

    base, token, url = served
    before = person_of_record(url)
    assert before[DEWI[0]] != before[DEWI[1]]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context()
        context.add_cookies([{"name": "_token", "value": token("analyst-1"), "url": base}])
        page = context.new_page()
        page.goto(f"{base}{PREFIX}/")
        page.locator("#pending tr", has_text=DEWI[1]).get_by_role("link", name="review").click()
        assert page.locator("#records tr", has_text="NIK").inner_text().count("357305******") == 2, "NIKs masked"
        assert "3573054302010007" not in page.content()
        assert page.locator("#evidence tr.agree", has_text="Birth date").count() == 1
        page.get_by_label("Same person (match)").check()
        page.get_by_label("Reason").fill("same woman, moved house; KTP seen")
        page.get_by_role("button", name="Save decision").click()
        page.wait_for_selector("#pending")
        assert DEWI[1] not in page.locator("#pending").inner_text() and RIZKI[1] in page.content()
        browser.close()

    with warehouse.connect(url) as conn:
        assert conn.execute("select decision, reviewer from identity.review_decision").fetchall() == [
            ("match", "analyst-1")]
    link_run(2)
    after = person_of_record(url)
    assert after[DEWI[0]] == after[DEWI[1]], "the decision holds in the next run"
    link_run(3)
    assert person_of_record(url) == after
