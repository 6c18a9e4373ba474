"""Failure alerts: an Airflow `on_failure_callback` that tells people a task failed, without personal data.

Channels, all off by default (then the callback only logs one line):
- `LINTAS_ALERT_WEBHOOK_URL`: HTTP POST of a JSON object (its `text` field suits Slack/Mattermost-style hooks).
- `LINTAS_ALERT_EMAIL_TO`: comma-separated addresses, sent through `LINTAS_SMTP_HOST`:`LINTAS_SMTP_PORT`
  (default localhost:25) from `LINTAS_ALERT_EMAIL_FROM` (default lintas@localhost).
- `LINTAS_REPORT_URL`: where people open the run report (default: its file path, settings.reports_dir()).

The message names the DAG, run, task, try and the exception's class and message. Lintas's own exception messages
name checks, files, counts and rates, never row values; as a second line of defence the message is cut to a
bounded length, PostgreSQL DETAIL lines (which can quote key values) are dropped and long digit runs (a NIK is 16
digits) are masked. Sending never raises: a callback that fails would hide the failure it reports.
"""

from __future__ import annotations

import logging
import re
import smtplib
from dataclasses import asdict, dataclass
from email.message import EmailMessage

from lintas import settings

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT = 5.0  # seconds
SMTP_TIMEOUT = 10.0
MAX_MESSAGE = 2000  # characters of the exception message kept

_LONG_DIGITS = re.compile(r"\d{10,}")
_DETAIL_LINE = re.compile(r"^\s*DETAIL:.*$", re.MULTILINE)


@dataclass(frozen=True)
class Alert:
    dag_id: str | None
    run_id: str | None
    task_id: str | None
    try_number: int | None
    exception_class: str | None
    exception_message: str
    report: str

    @property
    def subject(self) -> str:
        return f"[Lintas] task failed: {self.task_id} in {self.dag_id} (try {self.try_number})"

    @property
    def text(self) -> str:
        lines = [
            self.subject,
            f"DAG: {self.dag_id}",
            f"Run: {self.run_id}",
            f"Task: {self.task_id}, try {self.try_number}",
            f"Error: {self.exception_class}: {self.exception_message}" if self.exception_class else "Error: unknown",
            f"Run report: {self.report}",
        ]
        return "\n".join(lines)

    def as_json(self) -> dict:
        return {**asdict(self), "subject": self.subject, "text": self.text}


def scrub(message: str) -> str:
    """Second line of defence for a message leaving the cluster: no DETAIL lines, no long digit runs, bounded."""
    message = _DETAIL_LINE.sub("", message)
    message = _LONG_DIGITS.sub(lambda m: f"[{len(m.group())} digits]", message)
    message = "\n".join(line for line in message.splitlines() if line.strip())
    return message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE] + " …(cut)"


def report_location() -> str:
    return settings.current().report_url or str(settings.reports_dir() / "index.html")


def build_alert(context) -> Alert:
    """The alert for an Airflow task failure context (task SDK: dag, run_id, ti, exception)."""
    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    exc = context.get("exception")
    dag_id = getattr(dag, "dag_id", None) or getattr(ti, "dag_id", None)
    run_id = context.get("run_id") or getattr(ti, "run_id", None)
    if isinstance(exc, BaseException):
        exc_class, exc_message = type(exc).__name__, scrub(str(exc))
    elif exc:  # Airflow may hand over a string (e.g. a task killed by the supervisor)
        exc_class, exc_message = "str", scrub(str(exc))
    else:
        exc_class, exc_message = None, ""
    return Alert(dag_id=dag_id, run_id=run_id, task_id=getattr(ti, "task_id", None),
                 try_number=getattr(ti, "try_number", None), exception_class=exc_class,
                 exception_message=exc_message, report=report_location())


def email_message(alert: Alert, to: list[str], sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = alert.subject
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg.set_content(alert.text)
    return msg


def send_webhook(alert: Alert, url: str) -> bool:
    import httpx

    try:
        response = httpx.post(url, json=alert.as_json(), timeout=WEBHOOK_TIMEOUT)
        response.raise_for_status()
    except Exception as exc:  # noqa: BLE001 - an alert that cannot be sent must not fail the callback
        log.warning("alert webhook not delivered: %s", type(exc).__name__)
        return False
    return True


def send_email(alert: Alert, to: list[str]) -> bool:
    config = settings.current()
    host, sender = config.smtp_host, config.alert_email_from
    try:
        port = int(config.smtp_port)
        with smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT) as smtp:
            smtp.send_message(email_message(alert, to, sender))
    except Exception as exc:  # noqa: BLE001
        log.warning("alert e-mail to %d recipient(s) via %s not delivered: %s", len(to), host, type(exc).__name__)
        return False
    return True


def notify_failure(context) -> None:
    """Airflow on_failure_callback. Logs the alert; sends it to the configured channels; never raises."""
    try:
        alert = build_alert(context)
        webhook = settings.current().alert_webhook_url
        recipients = list(settings.current().alert_email_to)
        channels = (["webhook"] if webhook else []) + (["e-mail"] if recipients else [])
        log.error("%s: %s: %s (report: %s; alert channels: %s)", alert.subject, alert.exception_class,
                  alert.exception_message.splitlines()[0] if alert.exception_message else "",
                  alert.report, ", ".join(channels) or "none configured")
        if webhook:
            send_webhook(alert, webhook)
        if recipients:
            send_email(alert, recipients)
    except Exception:  # noqa: BLE001
        log.exception("failure alert could not be built or sent")
