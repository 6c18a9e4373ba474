"""The review page: the pending pairs, one pair's two records side by side with the evidence, and a form to decide
match / non-match / unsure with a reason. A FastAPI app that plugins/lintas_review.py mounts in the Airflow
api-server, behind Airflow's login: the reviewer is the Airflow user (the UI's session cookie or a bearer token),
and the auth manager decides who may see (GET) and decide (POST) on the custom view REVIEW_RESOURCE.

Links and the form's action are relative: the app does not know the prefix it is mounted under. NIK and No. KK are
masked; a reviewer whose warehouse login may read identities (lintas.review.queue.may_reveal: engineer or analyst,
never kecamatan staff) gets a "Reveal" button that posts to `reveal` and shows that pair in full, logged in
audit.access_log. Record values are only rendered into the page, never logged."""

import logging
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment

from lintas import warehouse
from lintas.identity import constraints
from lintas.review import queue

log = logging.getLogger(__name__)

REVIEW_RESOURCE = "lintas_identity_review"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }} · Lintas review</title>
<style>
body { font-family: sans-serif; margin: 1.5rem; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; }
.agree { background: #e3f6e3; } .disagree { background: #fbe3e3; } .missing { background: #f2f2f2; }
</style></head><body>
<p><a href="./">Pending pairs</a> · signed in as {{ reviewer }}</p>
<h1>{{ title }}</h1>
{% block body %}{% endblock %}
</body></html>"""

_QUEUE = _PAGE.replace("{% block body %}{% endblock %}", """
{% if pairs %}
<table id="pending"><tr><th>Record</th><th>Record</th><th>Probability</th><th>Last decision</th><th></th></tr>
{% for p in pairs %}<tr><td>{{ p.record_key_l }}</td><td>{{ p.record_key_r }}</td>
<td>{{ "%.4f"|format(p.match_probability) }}</td><td>{{ p.last_decision or "" }}</td>
<td><a href="pair?left={{ p.record_key_l|urlencode }}&amp;right={{ p.record_key_r|urlencode }}">review</a></td></tr>
{% endfor %}</table>
{% else %}<p id="empty">No pairs are waiting for review.</p>{% endif %}""")

_PAIR = _PAGE.replace("{% block body %}{% endblock %}", """
<p>Model probability: <strong id="probability">{{ "%.4f"|format(e.match_probability)
   if e.match_probability is not none else "not in review" }}</strong></p>
<table id="records"><tr><th></th><th>{{ e.record_key_l }}</th><th>{{ e.record_key_r }}</th></tr>
{% for label in labels %}<tr><th>{{ label }}</th><td>{{ e.records[0][label] }}</td><td>{{ e.records[1][label] }}</td>
</tr>{% endfor %}
{% if e.revealed %}<tr id="revealed"><th colspan="3">NIK and No. KK revealed to {{ reviewer }}
(logged)</th></tr>{% endif %}
<tr><th>Person now</th>{% for pid, method in e.persons %}<td>{{ pid or "" }} ({{ method or "not linked" }})</td>
{% endfor %}</tr></table>
{% if can_reveal and not e.revealed %}<form method="post" action="reveal" id="reveal">
<input type="hidden" name="left" value="{{ e.record_key_l }}">
<input type="hidden" name="right" value="{{ e.record_key_r }}">
<button type="submit">Reveal NIK and No. KK (logged)</button></form>{% endif %}
<h2>Evidence</h2>
<table id="evidence">{% for label, outcome in e.comparison %}
<tr class="{{ outcome }}"><th>{{ label }}</th><td>{{ outcome }}</td></tr>{% endfor %}</table>
<h2>Decide</h2>
<form method="post" action="decide">
<input type="hidden" name="left" value="{{ e.record_key_l }}">
<input type="hidden" name="right" value="{{ e.record_key_r }}">
{% for value, label in choices %}
<label><input type="radio" name="decision" value="{{ value }}" required> {{ label }}</label>
{% endfor %}
<p><label>Reason <textarea name="reason" required rows="3" cols="60"></textarea></label></p>
<button type="submit">Save decision</button></form>
{% if e.decisions %}<h2>Earlier decisions</h2><table id="history">
{% for d in e.decisions %}<tr><td>{{ d[0] }}</td><td>{{ d[1] }}</td><td>{{ d[2] }}</td><td>{{ d[3] }}</td></tr>
{% endfor %}</table>{% endif %}""")

CHOICES = list(zip(constraints.DECISIONS, ["Same person (match)", "Different persons (non-match)", "Unsure"],
                   strict=True))
_templates = Environment(autoescape=True)


def _render_pair(shown: queue.Evidence, login: str, *, can_reveal: bool) -> str:
    return _templates.from_string(_PAIR).render(title="Same person?", reviewer=login, e=shown, can_reveal=can_reveal,
                                                labels=[label for _, label in queue.SHOWN], choices=CHOICES)


def _airflow_reviewer() -> Callable:
    """A dependency: the Airflow user's name, if the auth manager lets them use the review view."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.core_api.security import GetUserDep

    def reviewer(request: Request, user: GetUserDep) -> str:
        method = "POST" if request.method == "POST" else "GET"
        if not get_auth_manager().is_authorized_custom_view(method=method, resource_name=REVIEW_RESOURCE,
                                                            user=user):
            raise HTTPException(status_code=403, detail="not allowed to review identity pairs")
        return user.get_name()

    return reviewer


def create_app(url: str | None = None, reviewer: Callable | None = None) -> FastAPI:
    """The review app on the warehouse at `url` (None: the configured warehouse, looked up at each request, so the
    api-server can load the plugin before the warehouse is configured). `reviewer` is the dependency that names the
    signed-in reviewer (default: Airflow's login)."""

    def warehouse_url() -> str:
        return url or warehouse.warehouse_url()

    app = FastAPI(title="Lintas identity review", docs_url=None, redoc_url=None, openapi_url=None)
    # no `from __future__ import annotations` in this module: FastAPI reads this local alias from the signatures
    Reviewer = Annotated[str, Depends(reviewer or _airflow_reviewer())]

    @app.get("/", response_class=HTMLResponse)
    def pending_pairs(login: Reviewer) -> str:
        return _templates.from_string(_QUEUE).render(title="Pairs to review", reviewer=login,
                                                     pairs=queue.pending(warehouse_url()))

    @app.get("/pair", response_class=HTMLResponse)
    def pair(left: str, right: str, login: Reviewer) -> str:
        try:
            shown = queue.evidence(left, right, warehouse_url())
        except queue.ReviewError as refused:
            raise HTTPException(status_code=404, detail=str(refused)) from None
        return _render_pair(shown, login, can_reveal=queue.may_reveal(login, warehouse_url()))

    @app.post("/reveal", response_class=HTMLResponse)
    def reveal(left: Annotated[str, Form()], right: Annotated[str, Form()], login: Reviewer) -> str:
        try:
            shown = queue.reveal(left, right, login, warehouse_url())
        except queue.RevealRefused as refused:
            raise HTTPException(status_code=403, detail=str(refused)) from None
        except queue.ReviewError as refused:
            raise HTTPException(status_code=404, detail=str(refused)) from None
        return _render_pair(shown, login, can_reveal=True)

    @app.post("/decide")
    def decide(left: Annotated[str, Form()], right: Annotated[str, Form()], decision: Annotated[str, Form()],
               reason: Annotated[str, Form()], login: Reviewer) -> RedirectResponse:
        try:
            decision_id = queue.decide(left, right, decision, login, reason, warehouse_url())
        except queue.ReviewError as refused:
            raise HTTPException(status_code=422, detail=str(refused)) from None
        log.info("review decision %s recorded: %s", decision_id, decision)  # ids only: no record values
        return RedirectResponse("./", status_code=303)

    return app
