"""Alert routing by severity (warning to Slack; critical to Slack, the webhook, e-mail and the retraining
hook), e-mail through a real aiosmtpd receiver, per-feature thresholds from a file, redirects refused,
and one alert across two worker processes that both evaluate the same window."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from aiosmtpd.controller import Controller
from litestar.testing import TestClient
from prometheus_client import CollectorRegistry
from service_helpers import MSGPACK, free_port, make_settings, mp, start_service, wait_for, webhook_receiver

import mlmon
from mlmon.exceptions import InputError
from mlmon.service import Settings, create_app
from mlmon.service.thresholds import load_thresholds

# plan's PSI on this batch is about 0.03: "ok" by default, "warning" under the file below.
_THRESHOLDS = """
[models.churn.features.plan]
warning = 0.02
critical = 0.3
"""


def _batch(batch_id: str) -> dict[str, Any]:
    ages = np.random.default_rng(3).normal(80, 9, 2000)  # far from the baseline's 40: critical
    plan = ["a"] * 800 + ["b"] * 700 + ["c"] * 500
    return {"batch_id": batch_id, "columns": {"age": {"dtype": "<f8", "data": ages.tobytes()}, "plan": plan}}


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, _Mailbox]]:
    box = _Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, box
    finally:
        controller.stop()


def test_routes_by_severity_with_email_and_feature_thresholds(
    tmp_path: Path, baseline: mlmon.Baseline, smtp: tuple[int, _Mailbox]
) -> None:
    port, box = smtp
    (tmp_path / "thresholds.toml").write_text(_THRESHOLDS)
    with webhook_receiver() as (url, received):
        settings = make_settings(
            tmp_path, alert_window="current", thresholds_file=str(tmp_path / "thresholds.toml"),
            slack_webhook_url=f"{url}/slack", webhook_url=f"{url}/generic", retrain_url=f"{url}/retrain",
            smtp_host="127.0.0.1", smtp_port=port, email_to=["oncall@example.org"],
        )  # fmt: skip
        app = create_app(settings, CollectorRegistry())
        with TestClient(app) as client:
            client.put("/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes())
            assert client.post(
                "/v1/models/churn/ingest", content=mp(_batch("b1")), headers=MSGPACK
            ).is_success
            with client.portal() as portal:
                raised = portal.call(app.state.alerts.check)
                portal.call(app.state.alerts.idle)
            assert sorted((a.feature, a.severity) for a in raised) == [
                ("age", "critical"),
                ("plan", "warning"),
            ]
            slack = sorted(body["text"] for path, body in received if path == "/slack")
            assert len(slack) == 2 and "[CRITICAL]" in slack[0] and "feature plan" in slack[1]
            assert [b["feature"] for p, b in received if p == "/generic"] == ["age"]  # warnings: Slack only
            assert [b["severity"] for p, b in received if p == "/retrain"] == ["critical"]
            (mail,) = box.messages
            assert mail.rcpt_tos == ["oncall@example.org"]
            assert b"drift on churn/v1" in mail.content and b"feature age" in mail.content
            critical = next(a for a in raised if a.severity == "critical")
            log = app.state.worker.store.list_deliveries(critical.id)
            assert sorted((d.sink, d.ok) for d in log) == [
                ("email", True), ("retrain", True), ("slack", True), ("webhook", True)
            ]  # fmt: skip
            # The drift endpoint applies the same per-feature thresholds.
            report = client.get("/v1/models/churn/drift").json()
            assert report["features"]["plan"]["severity"] == "warning"
            assert 'sink="email"' in client.get("/metrics").text


def test_redirect_is_a_failed_delivery_not_followed(tmp_path: Path, baseline: mlmon.Baseline) -> None:
    with webhook_receiver() as (url, received):
        settings = make_settings(tmp_path, alert_window="current", webhook_url=f"{url}/redirect",
                                 webhook_retries=2)  # fmt: skip
        app = create_app(settings, CollectorRegistry())
        with TestClient(app) as client:
            client.put("/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes())
            client.post("/v1/models/churn/ingest", content=mp(_batch("b1")), headers=MSGPACK)
            with client.portal() as portal:
                (alert,) = portal.call(app.state.alerts.check)
                portal.call(app.state.alerts.idle)
            log = app.state.worker.store.list_deliveries(alert.id)
            assert [(d.sink, d.ok, d.error) for d in log] == [("webhook", False, "HTTP 302")] * 2
            assert [p for p, _ in received] == ["/redirect", "/redirect"]  # /followed never requested
            assert client.get("/v1/alerts").json()[0]["state"] == "failed"


def test_bad_thresholds_file_names_the_model(tmp_path: Path) -> None:
    bad = tmp_path / "t.json"
    bad.write_text('{"models": {"churn": {"warning": 0.9, "critical": 0.1}}}')
    with pytest.raises(InputError, match="churn"):
        load_thresholds(str(bad), 0.2, 0.5)
    bad.write_text('{"model": {}}')
    with pytest.raises(InputError, match="models"):
        Settings(thresholds_file=str(bad)).check_startup()
    with pytest.raises(InputError, match="cannot read"):
        load_thresholds(str(tmp_path / "missing.toml"), 0.2, 0.5)
    ok = tmp_path / "t.toml"
    ok.write_text(_THRESHOLDS)
    plan = load_thresholds(str(ok), 0.2, 0.5)["churn"].for_feature("plan")
    assert (plan.warning, plan.critical) == (0.02, 0.3)


@pytest.mark.e2e
def test_two_workers_raise_and_deliver_one_alert(tmp_path: Path, baseline: mlmon.Baseline) -> None:
    # Both workers evaluate every version with data each 0.2 s; the store lets one of them raise it.
    with webhook_receiver() as (url, received):
        proc, base = start_service(
            f"sqlite:///{tmp_path / 'svc.db'}", tmp_path / "server.log", workers=2,
            MLMON_ALERT_INTERVAL_SECONDS="0.2", MLMON_ALERT_WINDOW="current",
            MLMON_WEBHOOK_URL=f"{url}/generic", MLMON_ALERT_ROUTES="critical=webhook",
        )  # fmt: skip
        try:
            httpx.put(f"{base}/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes())
            r = httpx.post(f"{base}/v1/models/churn/ingest", content=mp(_batch("b1")), headers=MSGPACK)
            assert r.status_code == 200, r.text
            assert wait_for(lambda: len(received) >= 1)
            assert not wait_for(lambda: len(received) > 1, seconds=2.0)  # ten more checks per worker
            assert [(p, b["feature"], b["severity"]) for p, b in received] == [
                ("/generic", "age", "critical")
            ]
            alerts = httpx.get(f"{base}/v1/alerts").json()
            assert [(a["feature"], a["severity"], a["state"]) for a in alerts] == [
                ("age", "critical", "sent")
            ]
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


def test_closed_window_is_evaluated_once_per_worker(tmp_path: Path, baseline: mlmon.Baseline) -> None:
    # Rows sent during the previous (closed) hour: the default alert_window="closed" evaluates them once.
    with webhook_receiver() as (url, received):
        settings = make_settings(tmp_path, webhook_url=f"{url}/generic")
        app = create_app(settings, CollectorRegistry())
        with TestClient(app) as client:
            client.put("/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes())
            start, _ = app.state.worker.reports.current_window()
            sent = (start - timedelta(minutes=30)).isoformat()
            batch = {**_batch("old"), "sent_at": sent}
            assert client.post("/v1/models/churn/ingest", content=mp(batch), headers=MSGPACK).is_success
            with client.portal() as portal:
                (alert,) = portal.call(app.state.alerts.check)
                assert portal.call(app.state.alerts.check) == []  # done: not evaluated again
                portal.call(app.state.alerts.idle)
            assert (alert.feature, alert.severity, alert.window_end) == ("age", "critical", start)
            assert [b["feature"] for p, b in received if p == "/generic"] == ["age"]
            history = client.get("/v1/models/churn/drift/history", params={"feature": "age"}).json()
            assert [h["window_end"] for h in history] == [start.isoformat().replace("+00:00", "Z")]
