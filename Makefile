# Lintas: `make demo` runs the whole pipeline on an embedded warehouse; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.lintas-installed

.PHONY: install browser check-ui demo test lint unit integration dags airflow summary bench clean spark test-spark

install: $(STAMP)

$(STAMP): pyproject.toml sandbox/pyproject.toml requirements/constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Lintas needs Python 3.11, found " + sys.version'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip==25.3"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements/constraints.txt -e '.[dev]' \
		-e ./sandbox
	touch $@

demo: install
	$(BIN)/lintas demo

# After `make demo`: the Airflow grid of the build DAG, the run report and a Data Docs page in headless Chromium,
# screenshots under .lintas/ui/
check-ui: install browser
	$(BIN)/lintas check-ui

summary: install
	$(BIN)/lintas summary

# The Airflow UI on http://localhost:8080 with the project's DAGs; the login is printed by standalone and kept in
# .lintas/airflow/simple_auth_manager_passwords.json.generated
airflow: install
	@echo "Airflow UI: http://localhost:8080  (login: .lintas/airflow/simple_auth_manager_passwords.json.generated)"
	$(BIN)/lintas airflow standalone

lint: install
	$(BIN)/ruff check include sandbox dags plugins tests bench
	$(BIN)/lintas warehouse prepare >/dev/null
	eval "$$($(BIN)/lintas warehouse dbt-env)" && cd dbt_project && \
		../$(BIN)/sqlfluff lint models --templater dbt --processes 2

# Debian's Chromium for the headless-browser tests (Data Docs offline); Playwright drives it, downloads nothing
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: install lint browser spark
	$(BIN)/pytest -q -n 2 --dist worksteal

unit: install
	$(BIN)/pytest -q tests/unit

# The linkage model on Spark (LINTAS_LINKAGE_BACKEND=spark, docs/deployment.md): Debian's Java 17 and the optional
# extra lintas[spark] (pyspark, built from its 456 MB sdist: about 50 s and 490 MB in the venv, Java 190 MB).
# `make test` installs both and runs the Spark parity test (marker `spark`; skipped only where Java or pyspark are
# absent, e.g. a hand run after `make install`); `make test-spark` runs the Spark tests alone.
SPARK_STAMP := $(VENV)/.lintas-spark-installed
spark: install $(SPARK_STAMP)
	@command -v java >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }

$(SPARK_STAMP): pyproject.toml requirements/constraints.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements/constraints.txt -e '.[dev,spark]' \
		-e ./sandbox
	touch $@

test-spark: spark
	$(BIN)/pytest -q tests/integration/test_linkage_spark.py tests/unit/test_spark_backend.py

# End-to-end benchmark through Airflow on a scratch home and a fresh warehouse database: first run, unchanged
# re-run, next-month run; tables in .lintas/bench/bench.md (bench/README.md)
SCALE ?= small
bench: install
	$(BIN)/python bench/bench_pipeline.py --scale $(SCALE)

clean:
	rm -rf .lintas dbt_project/target dbt_project/logs
