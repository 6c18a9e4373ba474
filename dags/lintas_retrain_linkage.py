"""Identity model retraining, by hand: re-estimate the Splink model's parameters on the warehouse's current
identity input (intermediate.int_identity__source_records) and write it as a new versioned model JSON under
LINTAS_HOME/models/linkage. Linkage keeps using the reviewed model until an engineer points
LINTAS_LINKAGE_MODEL at the new file (or commits it); the task's result names the file and its version. Beside it,
comparison_splink_model_v<N>.md/.json: every comparison level's m, u and match weight against the reviewed model,
the largest moves flagged, for the person who decides to promote it."""

from airflow.sdk import dag, task

from lintas.dag_defaults import dag_settings


@dag(
    dag_id="lintas_retrain_linkage",
    description="re-estimate the identity-resolution model on current warehouse data -> new versioned JSON",
    schedule=None,  # manual: a new model is reviewed before it is used
    doc_md=__doc__,
    **dag_settings(tags=["identity", "model"], retries=0),
)
def lintas_retrain_linkage():
    @task
    def retrain_model() -> dict:
        from lintas import warehouse
        from lintas.identity import training

        return training.retrain(warehouse.warehouse_url())

    @task
    def compare_with_reviewed(retrained: dict) -> dict:
        from pathlib import Path

        from lintas.identity import model_report

        return model_report.write(model_report.compare(Path(retrained["path"])))

    compare_with_reviewed(retrain_model())


lintas_retrain_linkage()
