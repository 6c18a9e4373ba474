"""Load a `lintas generate` folder into the warehouse through the real pipeline: every channel extracted and
gated as the DAGs do (the Dapodik API through its stand-in), for the benchmarks that need loaded raw data."""

from __future__ import annotations

import os
from pathlib import Path

from lintas import pipeline, settings
from lintas.load.raw import RunContext
from lintas_sandbox.standins.dapodik import DapodikServer
from lintas_sandbox.synth import izin as synth_izin

TOKEN = "bench-token"


def deliver_generated(out: Path, ctx: RunContext) -> list[dict]:
    """Point the outboxes and the permit database at `out`, extract and gate every channel; the extract reports."""
    os.environ["LINTAS_OUTBOX_DINSOS"] = str(out / "outbox" / "dinsos")
    os.environ["LINTAS_OUTBOX_DISKOPINDAG"] = str(out / "outbox" / "diskopindag")
    os.environ["LINTAS_DPMPTSP_URL"] = synth_izin.default_url(out)
    settings.reload()
    reports = [pipeline.extract_files("dinsos_dtks", ctx), pipeline.extract_files("diskopindag_umkm", ctx)]
    with DapodikServer.from_jsonl(out / "sources" / "dapodik" / "peserta_didik.jsonl", token=TOKEN) as api:
        reports.append(pipeline.extract_dapodik(ctx, base_url=api.base_url, token=TOKEN))
    reports += list(pipeline.extract_izin(ctx).values())
    for report in reports:
        pipeline.gate_source(report["source"], report, ctx)
    return reports
