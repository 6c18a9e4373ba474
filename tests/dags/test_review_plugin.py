"""The review page as analysts reach it: plugins/lintas_review.py loaded by Airflow's plugin manager into the
Airflow api-server app, behind Airflow's login (a JWT from the auth manager, as its login page sets it). In headless
Chromium an analyst decides a pair on the page; the next linkage run honours the decision."""

import logging
import secrets
import shutil
import socket
import threading
import time
import uuid

import pytest
from fastapi.testclient import TestClient

from lintas import access, warehouse
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


DEWI_NIKS = ("3573054302010007", "3573054302010099")  # DTKS's, the UMKM owner's


@pytest.fixture
def reviewers(api_server):
    """Airflow users who also have a warehouse login of the same name: an analyst, kecamatan staff, and kecamatan
    staff who were also (wrongly) made analysts. Logins are the server's, not the database's: dropped after."""
    url = api_server[2]
    tag = uuid.uuid4().hex[:8]
    logins = {"analyst": f"t_{tag}_analyst", "kecamatan": f"t_{tag}_camat", "both": f"t_{tag}_camat_analyst"}
    access.grant_login(logins["analyst"], "analyst", url=url)
    access.grant_login(logins["kecamatan"], "kecamatan", kecamatan=["35.73.05"], url=url)
    access.grant_login(logins["both"], "kecamatan", kecamatan=["35.73.05"], url=url)
    access.grant_login(logins["both"], "analyst", url=url)
    yield logins
    for login in logins.values():
        access.revoke_login(login, url, drop=True)


def _access_log(url: str) -> list[tuple]:
    with warehouse.connect(url) as conn:
        return conn.execute("select login::text, relation, via, rows_read from audit.access_log"
                            " order by access_log_id").fetchall()


def test_nik_is_revealed_on_the_review_page_only_to_roles_that_may_read_identities_and_each_reveal_is_logged(
        api_server, reviewers, caplog):
    app, token, url = api_server
    client = TestClient(app)
    pair = {"left": DEWI[0], "right": DEWI[1]}
    query = f"{PREFIX}/pair?left={DEWI[0]}&right={DEWI[1]}"
    caplog.set_level(logging.DEBUG)

    # masked on the pair page for everyone; the Reveal button only for a role that may use it
    for login, offered in ((reviewers["analyst"], True), (reviewers["kecamatan"], False),
                           (reviewers["both"], False), ("analyst-without-warehouse-login", False)):
        page = client.get(query, cookies={"_token": token(login)})
        assert page.status_code == 200 and not any(n in page.text for n in DEWI_NIKS)
        assert page.text.count("357305******") >= 2
        assert ('id="reveal"' in page.text) is offered, login

    # refused: kecamatan staff (even if also analysts) and Airflow users without a warehouse login; nothing logged
    for login in (reviewers["kecamatan"], reviewers["both"], "analyst-without-warehouse-login"):
        refused = client.post(f"{PREFIX}/reveal", data=pair, cookies={"_token": token(login)})
        assert refused.status_code == 403 and not any(n in refused.text for n in DEWI_NIKS), login
    assert client.post(f"{PREFIX}/reveal", data=pair).status_code == 401
    assert _access_log(url) == []

    # the analyst reveals: both NIKs in full, the page says so, one log row naming the pair and not the NIK
    revealed = client.post(f"{PREFIX}/reveal", data=pair, cookies={"_token": token(reviewers["analyst"])})
    assert revealed.status_code == 200
    assert all(n in revealed.text for n in DEWI_NIKS) and 'id="revealed"' in revealed.text
    assert _access_log(url) == [(reviewers["analyst"], "intermediate.int_identity__source_records",
                                 f"review page reveal: {DEWI[0]} / {DEWI[1]}", None)]
    logged = caplog.text + repr(_access_log(url))
    assert reviewers["analyst"] in caplog.text and not any(n in logged for n in DEWI_NIKS)
    # revealing is not deciding: the pair is still pending
    assert DEWI[1] in client.get(f"{PREFIX}/", cookies={"_token": token(reviewers["analyst"])}).text


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


def _decide_in_browser(page, base: str, pair: tuple[str, str], choice: str, reason: str) -> None:
    """Open the pair's page (from the queue if it is pending, else by its address) and post the decision."""
    pending = page.locator("#pending tr", has_text=pair[1])
    if page.url.rstrip("/").endswith(PREFIX) and pending.count():
        pending.get_by_role("link", name="review").click()
    else:
        page.goto(f"{base}{PREFIX}/pair?left={pair[0]}&right={pair[1]}")
    page.get_by_label(choice).check()
    page.get_by_label("Reason").fill(reason)
    page.get_by_role("button", name="Save decision").click()
    page.wait_for_selector("#pending, #empty")


def _dim_person(url: str, person_id: int) -> tuple:
    with warehouse.connect(url) as conn:
        return conn.execute("select source_records, in_dtks, in_umkm from marts.dim_person where person_id = %s",
                            (person_id,)).fetchone()


def test_decisions_made_on_the_page_hold_through_the_build_dag_in_person_record_and_dim_person(served, dagbag):
    """The round trip: decide on the page, run the build DAG (dag.test), the published dim_person shows it. One
    build run carries both kinds: a match merges Dewi's two records, a non-match overturning an earlier match
    splits Rizki's."""
    from playwright.sync_api import sync_playwright

    from tests.fixtures.dag_runs import run_dag

    base, token, url = served
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context()
        context.add_cookies([{"name": "_token", "value": token("analyst-1"), "url": base}])
        page = context.new_page()
        page.goto(f"{base}{PREFIX}/")
        _decide_in_browser(page, base, RIZKI, "Same person (match)", "looked alike at first sight")
        link_run(2)  # a scheduled linkage in between: Rizki's two records are one person now
        merged = person_of_record(url)
        assert merged[RIZKI[0]] == merged[RIZKI[1]] and merged[DEWI[0]] != merged[DEWI[1]]

        page.goto(f"{base}{PREFIX}/")
        _decide_in_browser(page, base, RIZKI, "Different persons (non-match)", "kelurahan: two men of that name")
        _decide_in_browser(page, base, DEWI, "Same person (match)", "same woman, moved house; KTP seen")
        browser.close()

    dagrun = run_dag(dagbag, "lintas_build_warehouse")
    assert dagrun.state == "success", {ti.task_id: ti.state for ti in dagrun.get_task_instances()
                                       if ti.state != "success"}
    with warehouse.connect(url) as conn:
        (link_run_id,) = conn.execute("select link_run_id from identity.link_run where airflow_run_id = %s",
                                      (dagrun.run_id,)).fetchone()
        decisions = dict(conn.execute("select decision || ' ' || record_key_r, review_decision_id"
                                      " from identity.review_decision"))
        events = conn.execute("select event, review_decision_ids from identity.person_event"
                              " where link_run_id = %s order by event", (link_run_id,)).fetchall()
        methods = dict(conn.execute("select record_key, match_method from identity.person_record"))
    after = person_of_record(url)
    # identity.person_record: Dewi merged by the match, Rizki split by the non-match, each event naming its decision
    assert after[DEWI[0]] == after[DEWI[1]] and methods[DEWI[0]] == methods[DEWI[1]] == "review"
    assert after[RIZKI[0]] != after[RIZKI[1]]
    assert events == [("merge", [decisions[f"match {DEWI[1]}"]]), ("split", [decisions[f"non_match {RIZKI[1]}"]])]
    # the published mart: one Dewi known to both agencies; two Rizkis, one per agency
    assert _dim_person(url, after[DEWI[0]]) == (2, True, True)
    assert _dim_person(url, after[RIZKI[0]]) == (1, True, False)
    assert _dim_person(url, after[RIZKI[1]]) == (1, False, True)
