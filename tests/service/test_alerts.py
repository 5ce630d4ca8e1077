"""Alerts reach a webhook receiver started by the test: once, with the right severity and feature, and
each delivery is recorded in the store; the cooldown stops a repeat."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from litestar.testing import TestClient
from prometheus_client import CollectorRegistry
from service_helpers import MSGPACK, make_settings, mp

import mlmon
from mlmon.service import create_app
from mlmon.service.alerts import slack_payload


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, Any]]]

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers["content-length"]))
        self.server.received.append((self.path, json.loads(data)))  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", server.received  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


def _wait_for(items: list[Any], n: int) -> None:
    # A bounded wait for the background delivery, not a speed assertion.
    deadline = time.monotonic() + 20
    while len(items) < n and time.monotonic() < deadline:
        time.sleep(0.05)


def test_critical_drift_alerts_once(tmp_path: Path, baseline: mlmon.Baseline, receiver: Any) -> None:
    url, received = receiver
    settings = make_settings(tmp_path, alert_window="current", webhook_url=f"{url}/generic",
                             slack_webhook_url=f"{url}/slack", retrain_url=f"{url}/retrain")  # fmt: skip
    app = create_app(settings, CollectorRegistry())
    with TestClient(app) as client:
        client.put("/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes())
        shifted = np.random.default_rng(3).normal(80, 9, 2000)  # far from the baseline's mean of 40
        batch = {"batch_id": "drift", "columns": {"age": {"dtype": "<f8", "data": shifted.tobytes()},
                                                  "plan": ["a", "b", "c"] * 666 + ["a", "b"]}}  # fmt: skip
        assert client.post("/v1/models/churn/ingest", content=mp(batch), headers=MSGPACK).status_code == 200
        with client.portal() as portal:
            raised = portal.call(app.state.alerts.check)
        assert [(a.feature, a.severity) for a in raised] == [("age", "critical")]
        _wait_for(received, 3)
        assert sorted(path for path, _ in received) == ["/generic", "/retrain", "/slack"]
        generic = next(p for path, p in received if path == "/generic")
        assert (generic["feature"], generic["severity"], generic["model"]) == ("age", "critical", "churn")
        client.post("/v1/models/churn/ingest", content=mp({**batch, "batch_id": "drift2"}), headers=MSGPACK)
        with client.portal() as portal:
            assert portal.call(app.state.alerts.check) == []  # cooldown
        alerts = client.get("/v1/alerts").json()
        assert len(alerts) == 1 and alerts[0]["state"] == "sent" and alerts[0]["delivery_attempts"] == 3
        history = client.get("/v1/models/churn/drift/history", params={"feature": "age"}).json()
        assert history[-1]["severity"] == "critical"
        metrics = client.get("/metrics").text
        assert 'mlmon_feature_drift_severity{feature="age",model="churn",version="v1"} 2.0' in metrics
        assert "<svg" in client.get("/").text


def test_failed_delivery_is_retried_and_recorded(tmp_path: Path, baseline: mlmon.Baseline) -> None:
    # Nothing listens on this port: every attempt fails fast with a connection error.
    settings = make_settings(tmp_path, alert_window="current", webhook_url="http://127.0.0.1:9/x",
                             webhook_retries=2)  # fmt: skip
    app = create_app(settings, CollectorRegistry())
    with TestClient(app) as client:
        client.put("/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes())
        shifted = np.random.default_rng(3).normal(80, 9, 2000)
        batch = {"batch_id": "d", "columns": {"age": {"dtype": "<f8", "data": shifted.tobytes()}}}
        client.post("/v1/models/churn/ingest", content=mp(batch), headers=MSGPACK)
        with client.portal() as portal:
            (alert,) = portal.call(app.state.alerts.check)
            portal.call(app.state.alerts.deliver, alert)
        (stored,) = client.get("/v1/alerts").json()
        assert stored["state"] == "failed" and stored["delivery_attempts"] >= 2 and stored["last_error"]


def test_slack_text_is_escaped() -> None:
    from datetime import datetime, timezone

    from mlmon.store import Alert

    now = datetime.now(timezone.utc)
    alert = Alert(1, "m<x>", "v&1", now, now, "f", "warning", 0.3, "s", "pending", 0, None, now, now)
    assert "m&lt;x&gt;" in slack_payload(alert)["text"] and "v&amp;1" in slack_payload(alert)["text"]
