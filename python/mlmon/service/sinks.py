"""Where alerts go: a Slack-compatible webhook, a generic JSON webhook, e-mail over SMTP, and the
retraining hook; one function per kind, each a single attempt that raises :class:`DeliveryError`.

Outbound calls are hardened (RELIABILITY S6): URLs and addresses come only from settings, never from a
request; redirects are not followed (a 3xx is a failure); every call has a timeout; response bodies are
never read (only the status), so a hostile receiver cannot make a worker buffer megabytes.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from typing import Any

import httpx

from mlmon.exceptions import MlmonError
from mlmon.service.settings import Settings
from mlmon.store import Alert

__all__ = ["DeliveryError", "generic_payload", "post_json", "send_email", "slack_payload"]


class DeliveryError(MlmonError):
    """One delivery attempt failed (its message is what the store records)."""


def _escape(text: str) -> str:
    # Slack's mrkdwn treats & < > as control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _summary(alert: Alert) -> str:
    score = "n/a" if alert.score is None else f"{alert.score:.3f}"
    source, _, metric = (alert.feature or "").partition(":")
    if metric and source in ("performance", "estimated"):  # service/labels/watch.py's alerts
        how = "realized from labels" if source == "performance" else "estimated before labels (CBPE)"
        return (
            f"[{alert.severity.upper()}] performance of {alert.model}/{alert.version}: {metric} {score} "
            f"({how}) from {alert.window_start.isoformat()} to {alert.window_end.isoformat()}"
        )
    return (
        f"[{alert.severity.upper()}] drift on {alert.model}/{alert.version} feature "
        f"{alert.feature or '(overall)'}: PSI {score} in window {alert.window_start.isoformat()} to "
        f"{alert.window_end.isoformat()}"
    )


def slack_payload(alert: Alert) -> dict[str, Any]:
    """A Slack-compatible message for an alert (names escaped)."""
    return {"text": _escape(_summary(alert))}


def generic_payload(alert: Alert) -> dict[str, Any]:
    """The generic JSON webhook body (also the retraining hook's): the alert's fields."""
    return {
        "id": alert.id,
        "model": alert.model,
        "version": alert.version,
        "feature": alert.feature,
        "severity": alert.severity,
        "score": alert.score,
        "window_start": alert.window_start.isoformat(),
        "window_end": alert.window_end.isoformat(),
        "baseline_sha256": alert.baseline_sha256,
    }


async def post_json(http: httpx.AsyncClient, url: str, payload: dict[str, Any]) -> None:
    """POSTs ``payload``; any status but 2xx (a redirect included) is a failure.

    Raises:
        DeliveryError: transport error, timeout or non-2xx status.
    """
    try:
        # stream(): the status line and headers are read, the body never is.
        async with http.stream("POST", url, json=payload) as response:
            status = response.status_code
    except httpx.HTTPError as exc:
        raise DeliveryError(type(exc).__name__) from exc
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}")


def send_email(settings: Settings, alert: Alert) -> None:
    """Sends the alert by e-mail to ``settings.email_to`` (blocking: run it in a thread).

    Raises:
        DeliveryError: no SMTP host or recipient configured, or the server refused or timed out.
    """
    if not settings.smtp_host or not settings.email_to:
        raise DeliveryError("e-mail is routed but MLMON_SMTP_HOST or MLMON_EMAIL_TO is not set")
    message = EmailMessage()
    message["Subject"] = (
        f"mlmon {alert.severity}: drift on {alert.model}/{alert.version} {alert.feature or ''}"
    )
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(settings.email_to)
    message.set_content(
        _summary(alert) + f"\n\nbaseline sha256: {alert.baseline_sha256}\nalert id: {alert.id}\n"
    )
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.webhook_timeout_seconds
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP: {type(exc).__name__}: {str(exc)[:200]}") from exc
