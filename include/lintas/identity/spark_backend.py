"""Splink on Apache Spark: the model's pairs for a province, where one process's DuckDB is not enough.

LINTAS_LINKAGE_BACKEND=spark makes `scoring.predict_pairs` call `scored_pairs` here instead of DuckDB: the same
model JSON, blocking rules (`scoring.BLOCKING`, DuckDB's SQL that Splink transpiles), features query
(`scoring.linkage_features_sql`, transpiled with sqlglot) and thresholds. Only the scoring moves: the rules without
the model (`rules`), the clusters and the writes stay in the worker (docs/deployment.md says which part grows).

Needs the optional extra `lintas[spark]` (pyspark) and Java 17 (`make spark`). LINTAS_SPARK_MASTER selects the
cluster (default local[2]: this machine); the rest of Spark's configuration is Spark's own (spark-defaults.conf
under SPARK_CONF_DIR, or spark-submit's --conf), docs/deployment.md.
"""

from __future__ import annotations

import copy
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd

from lintas import settings
from lintas.identity import scoring

APP_NAME = "lintas-linkage"
LOCAL_SHUFFLE_PARTITIONS = "8"  # shuffle partitions in local mode when Spark's configuration sets none
# DuckDB's date parsing in the model's birth-date comparison, which Splink does not translate for Spark: the same
# parse (NULL, not an error, when the text is no date) in Spark's own function and pattern
_DUCKDB_DATE = re.compile(r"try_strptime\(\s*(\"[^\"]+\")\s*,\s*'%Y-%m-%d'\s*\)", re.IGNORECASE)
_JARO_WINKLER = re.compile(r"\bjarowinkler_similarity\(", re.IGNORECASE)  # sqlglot's name; the jar's: jaro_winkler


def available() -> bool:
    """pyspark importable and a Java runtime on the PATH (or JAVA_HOME): what the spark backend needs here."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    java_home = settings.current().environment.get("JAVA_HOME")
    return bool(shutil.which("java") or (java_home and shutil.which("java", path=f"{java_home}/bin")))


@contextmanager
def spark_session() -> Iterator[object]:
    """A Spark session with Splink's similarity functions (its jar): the configured master, or the session the job
    already runs in (spark-submit). Stopped at the end only if it was started here."""
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    builder = SparkSession.builder.appName(APP_NAME)
    if "PYSPARK_GATEWAY_PORT" not in settings.current().environment:
        # started by this process, not by spark-submit (which sets the master and starts the JVM itself)
        builder = builder.master(settings.spark_master())
    with tempfile.TemporaryDirectory(prefix="lintas-spark-") as scratch:
        session = (builder.config("spark.jars", similarity_jar_location())
                   .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
                   .config("spark.local.dir", scratch)
                   .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                   # dates parsed to timestamps and differenced in seconds, as DuckDB does (no zone)
                   .config("spark.sql.session.timeZone", "UTC")
                   .getOrCreate())
        default_shuffle_partitions(session)
        session.sparkContext.setLogLevel("ERROR")
        session.sparkContext.setCheckpointDir(f"{scratch}/checkpoints")
        try:
            yield session
        finally:
            session.stop()


def default_shuffle_partitions(session) -> None:
    """Local mode: a few shuffle partitions per core, not Spark's 200 tiny ones, unless Spark's own configuration
    (spark-defaults.conf, --conf) sets them; a cluster keeps its own setting or Spark's default."""
    configured = session.sparkContext.getConf().contains("spark.sql.shuffle.partitions")
    if not configured and session.sparkContext.master.startswith("local"):
        session.conf.set("spark.sql.shuffle.partitions", LOCAL_SHUFFLE_PARTITIONS)


def scored_pairs(prepared: pd.DataFrame, model_settings: dict) -> pd.DataFrame:
    """What `scoring.predict_pairs` scores, on Spark: unique_id_l, unique_id_r, match_probability, and the two
    NIKs of the pairs at or above MATCH_THRESHOLD (for the veto), as a pandas frame."""
    import pyarrow as pa
    import sqlglot
    from splink import Linker
    from splink.backends.spark import SparkAPI

    with spark_session() as spark:
        model_input = scoring.model_input(prepared)
        table = pa.Table.from_pandas(model_input, preserve_index=False,
                                     schema=pa.schema([(c, pa.bool_() if c == "nik_contradicted" else pa.string())
                                                       for c in model_input.columns]))
        spark.createDataFrame(table).createOrReplaceTempView("linkage_input")
        features = spark.sql(sqlglot.transpile(scoring.linkage_features_sql("linkage_input"), read="duckdb",
                                               write="spark")[0])
        db = SparkAPI(spark_session=spark)
        linker = Linker(db.register(features), spark_settings(model_settings))
        predicted = linker.inference.predict(threshold_match_probability=scoring.REVIEW_THRESHOLD,
                                             warning_mode="never")
        query = scoring.SCORED_COLUMNS.replace("$linked", repr(scoring.MATCH_THRESHOLD)).format(
            predicted=predicted.physical_name)
        scored = spark.sql(query).toArrow().to_pandas()
    return scored.astype({"unique_id_l": object, "unique_id_r": object, "nik_l": object, "nik_r": object})


def spark_settings(model_settings: dict) -> dict:
    """The model's settings in Spark's SQL: every comparison level's condition and every blocking rule transpiled
    from DuckDB's (sqlglot), with the two functions it does not map named as Spark and Splink's jar name them;
    every m and u, the levels and the thresholds unchanged. Refuses what it cannot translate rather than score
    without it."""
    import sqlglot

    def to_spark(condition: str) -> str:
        if condition.strip().upper() == "ELSE":  # Splink's own keyword for the last level
            return condition
        condition = _DUCKDB_DATE.sub(r"try_to_timestamp(\1, 'yyyy-MM-dd')", condition)
        if "strptime" in condition.lower():
            raise settings.ConfigurationError(
                "the linkage model has a date format the spark backend does not translate (only %Y-%m-%d)")
        spark = sqlglot.transpile(condition, read="duckdb", write="spark")[0]
        return _JARO_WINKLER.sub("jaro_winkler(", spark)

    model = copy.deepcopy(model_settings)
    model["sql_dialect"] = "spark"
    for comparison in model.get("comparisons", []):
        for level in comparison["comparison_levels"]:
            level["sql_condition"] = to_spark(level["sql_condition"])
    model["blocking_rules_to_generate_predictions"] = [
        {**rule, "blocking_rule": to_spark(rule["blocking_rule"]), "sql_dialect": "spark"}
        for rule in model.get("blocking_rules_to_generate_predictions", [])]
    return model
