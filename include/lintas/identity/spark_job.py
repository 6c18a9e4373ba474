"""The linkage stage as a Spark application, for spark-submit (docs/deployment.md, "Linkage on Spark"):

    spark-submit --master k8s://https://KUBERNETES_API:443 --deploy-mode cluster \
        --conf spark.kubernetes.container.image=REGISTRY/lintas:TAG ... \
        local:///opt/lintas/include/lintas/identity/spark_job.py

The driver runs `pipeline.link_identities` in the session spark-submit made (LINTAS_LINKAGE_BACKEND=spark, e.g.
`--conf spark.kubernetes.driverEnv.LINTAS_LINKAGE_BACKEND=spark`); it needs the warehouse (WAREHOUSE_URL) and
the LINTAS_* settings like an Airflow worker. Prints the counts (JSON)."""

from __future__ import annotations

import json
import sys


def main() -> int:
    from lintas import pipeline, settings

    if settings.linkage_backend() != "spark":  # else the driver would score on DuckDB and the executors idle
        raise settings.ConfigurationError("spark_job.py links on Spark: set LINTAS_LINKAGE_BACKEND=spark")
    print(json.dumps(pipeline.link_identities()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
