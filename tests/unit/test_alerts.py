"""Failure alerts: a real local webhook receiver and a real (tiny) SMTP receiver on threads, no mocking of sends."""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import threading
import time
from email import message_from_bytes
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from lintas import alerts, dag_defaults, pipeline, settings

NIK = "3573051501800001"
GATE_MESSAGE = ("dinsos_dtks: held back from the warehouse\ngate raw_dinsos_dtks batch 3: FAILED (15 checks, "
                "1 critical failures, 0 warnings)\n  critical: expect_column_values_to_match_regex(nik): "
                "20 of 40 unexpected (50.00%)")
ENV = ("LINTAS_ALERT_WEBHOOK_URL", "LINTAS_ALERT_EMAIL_TO", "LINTAS_SMTP_HOST", "LINTAS_SMTP_PORT",
       "LINTAS_REPORT_URL")


def failure_context(exc: BaseException | None = None) -> dict:
    """What Airflow 3's task runner hands an on_failure_callback (the parts the alert reads)."""
    ti = SimpleNamespace(dag_id="lintas_extract_dinsos_dtks", task_id="gate__dinsos_dtks",
                         run_id="scheduled__2026-10-01T06:00:00+07:00", try_number=1)
    return {"dag": SimpleNamespace(dag_id=ti.dag_id), "ti": ti, "task_instance": ti, "run_id": ti.run_id,
            "exception": exc if exc is not None else pipeline.PipelineFailed(GATE_MESSAGE)}


@pytest.fixture(autouse=True)
def _no_alert_settings(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    settings.reload()


@pytest.fixture
def webhook():
    """A real HTTP server on a thread recording every POST; `.status` and `.delay` shape its answers."""
    received: list[dict] = []
    state = SimpleNamespace(received=received, status=200, delay=0.0, url=None)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(state.delay)
            received.append({"content_type": self.headers["Content-Type"], "json": json.loads(body)})
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/lintas"
    yield state
    server.shutdown()
    server.server_close()


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: EHLO/HELO, MAIL, RCPT, DATA, QUIT."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        mail = {"rcpt": []}
        self.reply("220 test ESMTP")
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 test")
            elif verb == "MAIL":
                mail["from"] = command
                self.reply("250 ok")
            elif verb == "RCPT":
                mail["rcpt"].append(command)
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go ahead")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk
                mail["data"] = data
                self.server.mails.append(dict(mail))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)
    server.daemon_threads = True
    server.mails = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_webhook_receives_a_pii_free_json_alert(webhook, monkeypatch, tmp_path):
    monkeypatch.setenv("LINTAS_ALERT_WEBHOOK_URL", webhook.url)
    monkeypatch.setenv("LINTAS_REPORTS_DIR", str(tmp_path / "reports"))
    settings.reload()
    alerts.notify_failure(failure_context())
    [request] = webhook.received
    assert request["content_type"] == "application/json"
    body = request["json"]
    assert body["dag_id"] == "lintas_extract_dinsos_dtks"
    assert body["run_id"] == "scheduled__2026-10-01T06:00:00+07:00"
    assert body["task_id"] == "gate__dinsos_dtks" and body["try_number"] == 1
    assert body["exception_class"] == "PipelineFailed"
    assert "expect_column_values_to_match_regex(nik): 20 of 40 unexpected (50.00%)" in body["exception_message"]
    assert body["report"] == str(tmp_path / "reports" / "index.html")
    assert body["subject"] == "[Lintas] task failed: gate__dinsos_dtks in lintas_extract_dinsos_dtks (try 1)"
    assert body["report"] in body["text"] and "PipelineFailed" in body["text"]


def test_report_url_overrides_the_path(webhook, monkeypatch):
    monkeypatch.setenv("LINTAS_ALERT_WEBHOOK_URL", webhook.url)
    monkeypatch.setenv("LINTAS_REPORT_URL", "https://reports.example/lintas/index.html")
    settings.reload()
    alerts.notify_failure(failure_context())
    assert webhook.received[0]["json"]["report"] == "https://reports.example/lintas/index.html"


def test_nothing_is_sent_when_no_channel_is_set(webhook, smtp_server, caplog):
    with caplog.at_level(logging.INFO, logger="lintas.alerts"):
        alerts.notify_failure(failure_context())
    assert webhook.received == [] and smtp_server.mails == []
    [record] = [r for r in caplog.records if r.name == "lintas.alerts"]
    assert "none configured" in record.getMessage() and "gate__dinsos_dtks" in record.getMessage()


def test_dead_or_failing_webhook_is_logged_never_raised(webhook, monkeypatch, caplog):
    monkeypatch.setenv("LINTAS_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{_closed_port()}/hook")
    settings.reload()
    with caplog.at_level(logging.WARNING, logger="lintas.alerts"):
        alerts.notify_failure(failure_context())  # connection refused
        monkeypatch.setenv("LINTAS_ALERT_WEBHOOK_URL", webhook.url)
        settings.reload()
        webhook.status = 500
        alerts.notify_failure(failure_context())  # server error
    failures = [r.getMessage() for r in caplog.records if "not delivered" in r.getMessage()]
    assert failures == ["alert webhook not delivered: ConnectError", "alert webhook not delivered: HTTPStatusError"]
    assert not any("127.0.0.1" in m for m in failures)  # the hook URL (often a secret) is not logged


def test_slow_webhook_times_out_quickly(webhook, monkeypatch):
    monkeypatch.setenv("LINTAS_ALERT_WEBHOOK_URL", webhook.url)
    settings.reload()
    monkeypatch.setattr(alerts, "WEBHOOK_TIMEOUT", 0.3)
    webhook.delay = 2.0
    started = time.monotonic()
    alerts.notify_failure(failure_context())
    assert time.monotonic() - started < 1.5


def test_email_is_delivered_over_smtp(smtp_server, monkeypatch):
    monkeypatch.setenv("LINTAS_ALERT_EMAIL_TO", "data-team@malangkota.example, auditor@malangkota.example")
    monkeypatch.setenv("LINTAS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("LINTAS_SMTP_PORT", str(smtp_server.server_address[1]))
    settings.reload()
    alerts.notify_failure(failure_context())
    [mail] = smtp_server.mails
    assert len(mail["rcpt"]) == 2
    message = message_from_bytes(mail["data"], policy=email_policy)
    assert message["Subject"].strip() == "[Lintas] task failed: gate__dinsos_dtks in lintas_extract_dinsos_dtks (try 1)"
    assert message["To"] == "data-team@malangkota.example, auditor@malangkota.example"
    assert "20 of 40 unexpected" in message.get_content()


def test_unreachable_smtp_is_logged_never_raised(monkeypatch, caplog):
    monkeypatch.setenv("LINTAS_ALERT_EMAIL_TO", "data-team@malangkota.example")
    monkeypatch.setenv("LINTAS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("LINTAS_SMTP_PORT", str(_closed_port()))
    settings.reload()
    with caplog.at_level(logging.WARNING, logger="lintas.alerts"):
        alerts.notify_failure(failure_context())
    assert any("alert e-mail to 1 recipient(s)" in r.getMessage() for r in caplog.records)


def test_message_building():
    alert = alerts.build_alert(failure_context())
    message = alerts.email_message(alert, ["a@example.org"], "lintas@localhost")
    assert message["From"] == "lintas@localhost" and message["To"] == "a@example.org"
    body = message.get_content()
    for part in ("DAG: lintas_extract_dinsos_dtks", "Task: gate__dinsos_dtks, try 1", "Error: PipelineFailed:",
                 "Run report: "):
        assert part in body
    empty = alerts.build_alert({"ti": None})
    assert empty.exception_class is None and "Error: unknown" in empty.text


def test_second_line_of_defence_scrubs_values_from_foreign_exception_messages():
    exc = RuntimeError(f'duplicate key value violates unique constraint "x"\nDETAIL:  Key (nik)=({NIK}) already '
                       f"exists.\nrow {NIK[:12]} " + "x" * 5000)
    alert = alerts.build_alert(failure_context(exc))
    assert NIK not in alert.exception_message and NIK[:12] not in alert.exception_message
    assert "DETAIL" not in alert.exception_message and "[12 digits]" in alert.exception_message
    assert len(alert.exception_message) <= alerts.MAX_MESSAGE + 10
    # names, counts and run ids survive
    assert alerts.scrub(GATE_MESSAGE) == GATE_MESSAGE


def test_every_dag_task_gets_the_callback():
    assert dag_defaults.dag_settings(tags=[])["default_args"]["on_failure_callback"] is alerts.notify_failure
