"""Clerical review against a real warehouse: a reviewer's decisions hold across linkage runs, and the review page
(lintas.review.web) shows a pair's evidence with the NIK masked and records a decision."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from lintas import warehouse
from lintas.review import queue, web
from tests.fixtures.review_pairs import BAMBANG, DEWI, RIZKI, deliver, link_run, person_of_record


def _events(url, link_run_id: int) -> list[tuple]:
    with warehouse.connect(url) as conn:
        return conn.execute("select event, person_id, other_person_ids, review_decision_ids from identity.person_event"
                            " where link_run_id = %s order by person_event_id", (link_run_id,)).fetchall()


@pytest.fixture
def reviewed(warehouse_url, outbox, outbox_for) -> str:
    deliver(outbox, outbox_for)
    first = link_run(1)
    assert (first["records"], first["persons"], first["review_pairs"]) == (8, 7, 2)
    return warehouse_url


def test_decisions_hold_across_runs_and_a_later_decision_splits_with_an_event(reviewed):
    url = reviewed
    assert {(p.record_key_l, p.record_key_r) for p in queue.pending(url)} == {tuple(sorted(RIZKI)),
                                                                          tuple(sorted(DEWI))}
    before = person_of_record(url)
    assert before[DEWI[0]] != before[DEWI[1]] and before[BAMBANG[0]] == before[BAMBANG[1]]
    with pytest.raises(queue.ReviewError):  # only pairs a run put in review
        queue.decide(*BAMBANG, "non_match", "reviewer-1", "different mothers", url)
    with pytest.raises(queue.ReviewError):
        queue.decide(*DEWI, "match", "reviewer-1", "  ", url)
    match = queue.decide(DEWI[1], DEWI[0], "match", "reviewer-1", "same woman, moved house; KTP seen", url)
    queue.decide(*RIZKI, "unsure", "reviewer-1", "ask the kelurahan", url)
    queue.decide(*RIZKI, "non_match", "reviewer-2", "kelurahan: two men of that name", url)

    second = link_run(2)
    person_of = person_of_record(url)
    assert person_of[DEWI[0]] == person_of[DEWI[1]], "the match decision joined the two persons"
    assert person_of[RIZKI[0]] != person_of[RIZKI[1]]
    assert second["persons"] == 6 and second["merges"] == 1
    assert _events(url, second["link_run_id"]) == [("merge", person_of[DEWI[0]], [before[DEWI[1]]], [match])]
    assert queue.pending(url) == [], "decided pairs leave the queue; the joined one is not a review pair any more"
    with warehouse.connect(url) as conn:
        methods = dict(conn.execute("select record_key, match_method from identity.person_record"))
    assert methods[DEWI[0]] == methods[DEWI[1]] == "review"

    # another run changes nothing: the decisions are read again, not remembered by the run
    third = link_run(3)
    assert person_of_record(url) == person_of and third["merges"] == third["splits"] == 0

    # a later reviewer overturns the match: the next run splits the person again and says why
    overturned = queue.decide(*DEWI, "non_match", "reviewer-3", "NIK check at Dukcapil: two women", url)
    fourth = link_run(4)
    after = person_of_record(url)
    assert after[DEWI[0]] != after[DEWI[1]] and fourth["splits"] == 1
    (event, person_id, others, causes), = _events(url, fourth["link_run_id"])
    assert (event, causes) == ("split", [overturned]) and person_id == person_of[DEWI[0]]
    assert {after[DEWI[0]], after[DEWI[1]]} == {person_id, *others}
    assert queue.pending(url) == []


def _client(url: str, login: str = "analyst-1") -> TestClient:
    # Airflow's login is the api-server's; here the reviewer is named directly (tests/dags/test_review_plugin.py
    # signs in through Airflow)
    return TestClient(web.create_app(url, reviewer=lambda: login))


def test_the_review_page_shows_the_evidence_masked_and_records_a_decision(reviewed):
    client = _client(reviewed)
    queue_page = client.get("/")
    assert queue_page.status_code == 200
    assert DEWI[1] in queue_page.text and RIZKI[1] in queue_page.text and BAMBANG[1] not in queue_page.text
    pair = client.get("/pair", params={"left": DEWI[0], "right": DEWI[1]})
    assert pair.status_code == 200
    assert "DEWI LESTARI" in pair.text and "0.9884" in pair.text
    assert "3573054302010007" not in pair.text and "3573054302010099" not in pair.text, "NIK masked"
    assert "357305******0007" in pair.text and "357305******0099" in pair.text
    evidence = pair.text[pair.text.index('id="evidence"'):]
    assert '<tr class="disagree"><th>NIK</th>' in evidence and '<tr class="agree"><th>Birth date</th>' in evidence
    assert '<tr class="disagree"><th>Street</th>' in evidence and '<tr class="agree"><th>Name</th>' in evidence

    refused = client.post("/decide", data={"left": DEWI[0], "right": DEWI[1], "decision": "maybe",
                                           "reason": "x"})
    assert refused.status_code == 422
    decided = client.post("/decide", data={"left": DEWI[0], "right": DEWI[1], "decision": "match",
                                           "reason": "same woman, moved house"})
    assert decided.status_code == 200 and DEWI[1] not in decided.text, "back to the queue, the pair gone"
    with warehouse.connect(reviewed) as conn:
        recorded = conn.execute("select record_key_l, record_key_r, decision, reviewer, reason, link_run_id"
                                " from identity.review_decision").fetchall()
    assert recorded == [(*sorted(DEWI), "match", "analyst-1", "same woman, moved house", 1)]
    assert client.get("/pair", params={"left": DEWI[0], "right": "dinsos_dtks:NOPE"}).status_code == 404


def test_the_review_page_refuses_a_request_without_an_airflow_login(reviewed):
    client = TestClient(web.create_app(reviewed))
    assert client.get("/").status_code == 401
    assert client.post("/decide", data={"left": DEWI[0], "right": DEWI[1], "decision": "match",
                                        "reason": "x"}).status_code == 401
    with warehouse.connect(reviewed) as conn:
        assert conn.execute("select count(*) from identity.review_decision").fetchone()[0] == 0
