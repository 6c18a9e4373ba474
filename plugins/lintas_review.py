"""The identity review page in the Airflow UI: lintas.review.web's app, mounted in the api-server under
/lintas-review and linked from the UI's navigation. Logic lives in include/lintas/review."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from lintas.review.web import create_app

URL_PREFIX = "/lintas-review"


class LintasReviewPlugin(AirflowPlugin):
    name = "lintas_review"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Lintas identity review"}]
    external_views = [{"name": "Identity review", "href": f"{URL_PREFIX.lstrip('/')}/", "destination": "nav",
                       "category": "browse", "url_route": "lintas-review"}]
