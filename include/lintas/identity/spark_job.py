"""The linkage stage as a Spark application, for spark-submit (docs/deployment.md, "Linkage on Spark"):

    spark-submit --master k8s://https://KUBERNETES_API:443 --deploy-mode cluster \
        --conf spark.kubernetes.container.image=REGISTRY/lintas:TAG ... \
        local:///opt/lintas/include/lintas/identity/spark_job.py

The driver runs `pipeline.link_identities` with LINTAS_LINKAGE_BACKEND=spark in the session spark-submit made; it
needs the warehouse (WAREHOUSE_URL) and the LINTAS_* settings like an Airflow worker. Prints the counts (JSON)."""

from __future__ import annotations

import json
import os
import sys


def main() -> int:
    from lintas import pipeline, settings

    os.environ["LINTAS_LINKAGE_BACKEND"] = "spark"  # this entry point exists only to link on Spark
    settings.reload()
    print(json.dumps(pipeline.link_identities()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
