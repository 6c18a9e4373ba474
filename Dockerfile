# The image every Airflow component runs in a deployment: Airflow 3.3.2 plus Lintas and its pinned stack.
FROM apache/airflow:3.3.2-python3.11

ENV LINTAS_PROJECT_ROOT=/opt/lintas
WORKDIR /opt/lintas
COPY --chown=airflow:root pyproject.toml README.md ./
COPY --chown=airflow:root requirements/constraints.txt requirements/constraints.txt
COPY --chown=airflow:root include include
RUN pip install --no-cache-dir -c requirements/constraints.txt -e .
# dags/, plugins/, dbt_project/ and expectations/ are mounted by docker-compose.yml so they can change without a rebuild.
# sandbox/ (the data generator, the agencies' stand-ins, `lintas demo`) is development tooling and stays out.
