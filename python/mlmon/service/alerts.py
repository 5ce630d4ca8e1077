"""Alerts: drift of watched model versions is evaluated periodically, stored, exported as metrics, and a
feature crossing its threshold raises an alert, deduplicated by a cooldown and delivered to the
configured webhooks in the background with retries and exponential backoff; every attempt is recorded
in the store.

Webhook URLs come only from settings (never from requests), redirects are not followed and every call
has a timeout, so a request cannot turn the service into an SSRF proxy.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import httpx

from mlmon.drift import DriftReport
from mlmon.store import Alert, DriftResult

if TYPE_CHECKING:
    from mlmon.service.core import ServiceCore

__all__ = ["AlertManager", "slack_payload"]

_log = logging.getLogger("mlmon.service.alerts")
_BACKOFF_CAP = 30.0


def _escape(text: str) -> str:
    # Slack's mrkdwn treats & < > as control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(alert: Alert) -> dict[str, Any]:
    """A Slack-compatible message for an alert (names escaped)."""
    score = "n/a" if alert.score is None else f"{alert.score:.3f}"
    text = (
        f"[{alert.severity.upper()}] drift on {_escape(alert.model)}/{_escape(alert.version)} "
        f"feature {_escape(alert.feature or '(overall)')}: PSI {score} "
        f"in window {alert.window_start.isoformat()} to {alert.window_end.isoformat()}"
    )
    return {"text": text}


def generic_payload(alert: Alert) -> dict[str, Any]:
    """The generic JSON webhook body: the alert's fields."""
    return {
        "id": alert.id, "model": alert.model, "version": alert.version, "feature": alert.feature,
        "severity": alert.severity, "score": alert.score, "window_start": alert.window_start.isoformat(),
        "window_end": alert.window_end.isoformat(), "baseline_sha256": alert.baseline_sha256,
    }  # fmt: skip


class AlertManager:
    """Evaluates watched model versions and delivers their alerts.

    Args:
        core: The worker's service state (store, settings, metrics, and the versions it ingested).
    """

    def __init__(self, core: ServiceCore) -> None:
        self.core = core
        self.settings = core.settings
        self._watched: set[tuple[str, str]] = set()
        self._done_windows: dict[tuple[str, str], datetime] = {}
        self._last_alert: dict[tuple[str, str, str, str], float] = {}
        self._task: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Starts the periodic check (not when ``alert_interval_seconds`` is 0)."""
        if self.settings.alert_interval_seconds > 0:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="mlmon-alerts")

    async def stop(self) -> None:
        """Stops checking; deliveries in progress get a short grace period, then are cancelled."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._deliveries:
            await asyncio.wait(self._deliveries, timeout=self.settings.webhook_timeout_seconds)
            for task in self._deliveries:
                task.cancel()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.alert_interval_seconds)
            try:
                await self.check()
            except Exception:  # a store outage must not end alerting for the worker's life
                _log.warning("alert check failed", exc_info=True)

    def _target(self, key: tuple[str, str], dirty: bool) -> tuple[datetime, datetime] | None:
        start, end = self.core.current_window()
        if self.settings.alert_window == "current":
            return (start, end) if dirty else None
        closed = (start - timedelta(seconds=self.settings.window_seconds), start)
        # A closed window is evaluated once per worker.
        if self._done_windows.get(key) == closed[0]:
            return None
        self._done_windows[key] = closed[0]
        return closed

    async def check(self) -> list[Alert]:
        """Evaluates every version this worker ingested and raises the alerts due.

        Returns:
            The alerts raised by this check (deliveries continue in the background).
        """
        dirty, self.core.dirty = self.core.dirty, set()
        self._watched |= dirty
        raised: list[Alert] = []
        for key in sorted(self._watched):
            span = self._target(key, key in dirty)
            if span is not None:
                raised += await self.evaluate(*key, *span)
        return raised

    async def evaluate(self, model: str, version: str, start: datetime, end: datetime) -> list[Alert]:
        """Computes, stores and exports the drift of one window, and raises its alerts.

        Returns:
            The alerts raised (each is being delivered in the background).
        """
        report = await self.core.report(model, version, start, end)
        sha = (await self.core.entry(model, version)).sha256
        results = [
            DriftResult(window_start=start, window_end=end, feature=name, score=f.score, severity=f.severity,
                        baseline_sha256=sha, details={"p_value": f.p_value, "count": f.count,
                                                      "missing_rate": f.missing_rate})
            for name, f in report.features.items()
        ]  # fmt: skip
        await anyio.to_thread.run_sync(self.core.store.put_drift_results, model, version, results)
        for r in results:
            self.core.metrics.set_drift(model, version, r.feature, r.score, r.severity)
        return await self._raise(model, version, report, start, end, sha)

    async def _raise(
        self, model: str, version: str, report: DriftReport, start: datetime, end: datetime, sha: str
    ) -> list[Alert]:
        raised = []
        for name, f in report.features.items():
            severity = f.severity
            if severity not in ("warning", "critical"):
                continue
            if not await self._due(model, version, name, severity):
                continue
            add = functools.partial(
                self.core.store.add_alert, model, version, window_start=start, window_end=end, feature=name,
                severity=severity, score=f.score, baseline_sha256=sha,
            )  # fmt: skip
            alert = await anyio.to_thread.run_sync(add)
            raised.append(alert)
            task = asyncio.get_running_loop().create_task(self.deliver(alert))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)
        return raised

    async def _due(self, model: str, version: str, feature: str, severity: str) -> bool:
        key = (model, version, feature, severity)
        now = time.monotonic()
        cooldown = self.settings.alert_cooldown_seconds
        if now - self._last_alert.get(key, -cooldown - 1) < cooldown:
            return False
        # Other workers and replicas share the store: one alert there within the cooldown also counts.
        since = datetime.now(timezone.utc) - timedelta(seconds=cooldown)
        recent = await anyio.to_thread.run_sync(
            lambda: self.core.store.list_alerts(model, version=version, since=since, limit=1000)
        )
        self._last_alert[key] = now
        return not any(a.feature == feature and a.severity == severity for a in recent)

    def _sinks(self, alert: Alert) -> list[tuple[str, str, dict[str, Any]]]:
        s = self.settings
        sinks = []
        if s.slack_webhook_url:
            sinks.append(("slack", s.slack_webhook_url, slack_payload(alert)))
        if s.webhook_url:
            sinks.append(("webhook", s.webhook_url, generic_payload(alert)))
        if s.retrain_url and alert.severity == "critical":
            sinks.append(("retrain", s.retrain_url, generic_payload(alert)))
        return sinks

    async def deliver(self, alert: Alert) -> None:
        """Sends an alert to each sink, retrying with exponential backoff; records every attempt."""
        async with httpx.AsyncClient(
            follow_redirects=False, timeout=self.settings.webhook_timeout_seconds
        ) as http:
            for sink, url, payload in self._sinks(alert):
                await self._send(http, alert, sink, url, payload)

    async def _send(
        self, http: httpx.AsyncClient, alert: Alert, sink: str, url: str, payload: dict[str, Any]
    ) -> None:
        retries = max(1, self.settings.webhook_retries)
        for attempt in range(retries):
            try:
                response = await http.post(url, json=payload)
                error = None if response.is_success else f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}"
            record = functools.partial(
                self.core.store.record_delivery, alert.id, ok=error is None, error=error
            )
            await anyio.to_thread.run_sync(record)
            if error is None:
                self.core.metrics.alerts_sent.labels(alert.severity, sink).inc()
                return
            if attempt + 1 < retries:
                await asyncio.sleep(min(_BACKOFF_CAP, 0.5 * 2**attempt))
        self.core.metrics.alerts_failed.labels(alert.severity, sink).inc()
        _log.warning("alert %d to %s failed after %d attempts", alert.id, sink, retries)
