"""Alerts: every worker periodically evaluates the drift of every model version that has data in the
watched window (not only the versions it ingested), stores the results, exports them as metrics, and
raises an alert for each feature at ``warning`` or ``critical`` under its model's and feature's
thresholds.

Deduplication lives in the store: :meth:`~mlmon.store.Store.claim_alert` checks the cooldown and inserts
in one serialized transaction, so of all the workers and replicas evaluating the same window exactly one
raises the alert and delivers it. Delivery runs in the background, routed by severity
(``alert_routes``) to Slack, the generic webhook and e-mail, plus the retraining hook on critical; each
sink is retried with exponential backoff and every attempt is recorded in the store's delivery log.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Literal

import anyio.to_thread
import httpx

from mlmon.core.drift import DriftReport
from mlmon.exceptions import CodecError, InputError
from mlmon.service.baselines import BaselineCache
from mlmon.service.labels.watch import PerformanceWatch
from mlmon.service.metrics import Metrics
from mlmon.service.reports import Reports
from mlmon.service.settings import Settings
from mlmon.service.sinks import DeliveryError, generic_payload, post_json, send_email, slack_payload
from mlmon.store import Alert, DriftResult, NotFoundError, Store

__all__ = ["AlertManager", "slack_payload"]

_log = logging.getLogger("mlmon.service.alerts")
_BACKOFF_CAP = 30.0
_BACKOFF_BASE = 0.5


class AlertManager:
    """Evaluates the model versions with data and delivers their alerts.

    Args:
        settings: The service settings (interval, window, cooldown, sinks).
        store: The store (results, alert claims, the delivery log).
        metrics: Where drift scores and deliveries are exported.
        reports: The reports of stored windows.
        baselines: The baseline cache (each result names its baseline's sha256).
    """

    def __init__(
        self, settings: Settings, store: Store, metrics: Metrics, reports: Reports, baselines: BaselineCache
    ) -> None:
        self.settings = settings
        self._store = store
        self._metrics = metrics
        self._reports = reports
        self._baselines = baselines
        self._watch = PerformanceWatch(settings, store, metrics)
        self._done_windows: dict[tuple[str, str], datetime] = {}
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

    async def idle(self) -> None:
        """Waits until the deliveries started so far have finished (tests, and a clean stop)."""
        if self._deliveries:
            await asyncio.wait(set(self._deliveries))

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.alert_interval_seconds)
            try:
                await self.check()
            except Exception:  # a store outage must not end alerting for the worker's life
                _log.warning("alert check failed", exc_info=True)

    def _target(self, key: tuple[str, str]) -> tuple[datetime, datetime] | None:
        start, end = self._reports.current_window()
        if self.settings.alert_window == "current":
            return start, end
        closed = (start - timedelta(seconds=self.settings.window_seconds), start)
        # A closed window no longer changes: each worker evaluates it once (see check()).
        return None if self._done_windows.get(key) == closed[0] else closed

    def _versions(self) -> list[tuple[str, str]]:
        store = self._store
        return [(m.name, v.version) for m in store.list_models() for v in store.list_versions(m.name)]

    async def check(self) -> list[Alert]:
        """Evaluates every model version with data in the watched window and raises the alerts due.

        Returns:
            The alerts this worker raised (deliveries continue in the background).
        """
        raised: list[Alert] = []
        for key in await anyio.to_thread.run_sync(self._versions):
            span = self._target(key)
            if span is not None:
                raised += await self.evaluate(*key, *span)
                # Marked only once evaluated: a store outage leaves it for the next check.
                self._done_windows[key] = span[0]
            # Every check: labels of past windows keep arriving (labels/watch.py).
            raised += await self.evaluate_performance(*key, span)
        return raised

    async def evaluate_performance(
        self, model: str, version: str, watched: tuple[datetime, datetime] | None
    ) -> list[Alert]:
        """Exports the version's performance and raises an alert for each drop against its reference:
        the estimate over ``watched``, the realized metric over the lookback (labels/watch.py).

        Returns:
            The alerts raised; none for a version whose baseline has no reference performance.
        """
        try:
            entry = await self._baselines.entry(model, version)
        except (NotFoundError, CodecError, InputError):  # no baseline, or one drift evaluation skips too
            return []
        if entry.outputs is None:
            return []
        now_end = self._reports.current_window()[1]
        drops = await self._watch.drops(entry.outputs, model, version, watched, now_end)
        raised = []
        for d in drops:
            alert = await self._claim(
                model, version, d.window_start, d.window_end, d.feature, d.severity, d.value, entry.sha256
            )
            if alert is not None:
                raised.append(alert)
        return raised

    async def evaluate(self, model: str, version: str, start: datetime, end: datetime) -> list[Alert]:
        """Computes, stores and exports the drift of one window, and raises its alerts.

        Returns:
            The alerts raised (each is being delivered in the background); none without data or baseline.
        """
        try:
            report = await self._reports.report_if_data(model, version, start, end)
            sha = (await self._baselines.entry(model, version)).sha256
        except NotFoundError:  # a version registered without a baseline has nothing to evaluate
            return []
        except (CodecError, InputError) as exc:
            # A baseline stored before names were checked at upload: skip it, keep alerting the others.
            _log.warning("model %s version %s is not evaluated: %s", model, version, exc)
            return []
        if report is None:
            return []
        results = [
            DriftResult(
                window_start=start,
                window_end=end,
                feature=name,
                score=f.score,
                severity=f.severity,
                baseline_sha256=sha,
                details={"p_value": f.p_value, "count": f.count, "missing_rate": f.missing_rate},
            )
            for name, f in report.features.items()
        ]
        await anyio.to_thread.run_sync(self._store.put_drift_results, model, version, results)
        for r in results:
            self._metrics.set_drift(model, version, r.feature, r.score, r.severity)
        return await self._raise(model, version, report, start, end, sha)

    async def _raise(
        self, model: str, version: str, report: DriftReport, start: datetime, end: datetime, sha: str
    ) -> list[Alert]:
        raised = []
        for name, f in report.features.items():
            if f.severity in ("warning", "critical"):
                alert = await self._claim(model, version, start, end, name, f.severity, f.score, sha)
                if alert is not None:
                    raised.append(alert)
        return raised

    async def _claim(
        self,
        model: str,
        version: str,
        start: datetime,
        end: datetime,
        feature: str,
        severity: Literal["warning", "critical"],
        score: float | None,
        sha: str,
    ) -> Alert | None:
        """Claims the alert (``None``: raised within the cooldown, by this worker or another) and starts
        its delivery in the background."""
        claim = functools.partial(
            self._store.claim_alert,
            model,
            version,
            window_start=start,
            window_end=end,
            feature=feature,
            severity=severity,
            score=score,
            baseline_sha256=sha,
            cooldown=timedelta(seconds=self.settings.alert_cooldown_seconds),
        )
        alert = await anyio.to_thread.run_sync(claim)
        if alert is not None:
            task = asyncio.get_running_loop().create_task(self.deliver(alert))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)
        return alert

    def _sinks(
        self, alert: Alert, http: httpx.AsyncClient
    ) -> list[tuple[str, Callable[[], Awaitable[None]]]]:
        s = self.settings
        urls = {"slack": s.slack_webhook_url, "webhook": s.webhook_url}
        payloads = {"slack": slack_payload, "webhook": generic_payload}
        sinks: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        for sink in s.alert_routes.get(alert.severity, []):
            url = urls.get(sink)
            if sink == "email" and s.smtp_host:
                sinks.append(("email", functools.partial(anyio.to_thread.run_sync, send_email, s, alert)))
            elif url:
                sinks.append((sink, functools.partial(post_json, http, url, payloads[sink](alert))))
        if s.retrain_url and alert.severity == "critical":
            sinks.append(
                ("retrain", functools.partial(post_json, http, s.retrain_url, generic_payload(alert)))
            )
        return sinks

    async def deliver(self, alert: Alert) -> None:
        """Sends an alert to each sink its severity is routed to, retrying with exponential backoff;
        records every attempt."""
        async with httpx.AsyncClient(
            follow_redirects=False, timeout=self.settings.webhook_timeout_seconds, trust_env=False
        ) as http:
            for sink, attempt in self._sinks(alert, http):
                await self._send(alert, sink, attempt)

    async def _send(self, alert: Alert, sink: str, attempt: Callable[[], Awaitable[None]]) -> None:
        retries = self.settings.webhook_retries
        for n in range(retries):
            try:
                await attempt()
                error = None
            except DeliveryError as exc:
                error = str(exc)
            record = functools.partial(
                self._store.record_delivery, alert.id, ok=error is None, error=error, sink=sink
            )
            await anyio.to_thread.run_sync(record)
            if error is None:
                self._metrics.alerts_sent.labels(alert.severity, sink).inc()
                return
            if n + 1 < retries:
                await asyncio.sleep(min(_BACKOFF_CAP, _BACKOFF_BASE * 2**n))
        self._metrics.alerts_failed.labels(alert.severity, sink).inc()
        _log.warning("alert %d to %s failed after %d attempts", alert.id, sink, retries)
