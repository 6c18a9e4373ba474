"""Clerical review of the pairs identity resolution was unsure about: the queue (`queue`) and the page analysts
decide on (`web`, served inside the Airflow api-server by plugins/lintas_review.py)."""
