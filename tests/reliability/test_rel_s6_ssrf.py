"""S6 SSRF-shaped input: outbound URLs come only from the admin's settings. Request bodies, query strings
and headers that name a URL are refused or ignored, and no request ever reaches the URL they name; a
webhook that never answers costs one timeout per attempt, not a hung worker. (A receiver answering 302 is
not followed: tests/service/test_alert_routing.py.)"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import numpy as np
from litestar.testing import TestClient
from prometheus_client import CollectorRegistry
from rel_results import record
from service_helpers import MSGPACK, body, loopback_server, make_settings, mp, webhook_receiver

import mlmon
from mlmon.service import create_app


def _critical(batch_id: str) -> dict[str, Any]:
    ages = np.random.default_rng(3).normal(80, 9, 2000)  # far from the baseline's 40: critical drift
    return {"batch_id": batch_id, "columns": {"age": {"dtype": "<f8", "data": ages.tobytes()}}}


class _Silent(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.server.hits.append(time.monotonic())  # type: ignore[attr-defined]
        time.sleep(3)  # never answers within the service's timeout

    def log_message(self, *args: object) -> None:
        return


@contextmanager
def silent_receiver() -> Iterator[tuple[str, list[float]]]:
    """A loopback HTTP server that accepts POSTs and answers nothing for 3 s."""
    hits: list[float] = []
    with loopback_server(_Silent, hits=hits) as url:
        yield url, hits


def test_urls_in_requests_are_never_called(tmp_path: Path, baseline: mlmon.Baseline) -> None:
    started = time.monotonic()
    with webhook_receiver() as (admin_url, admin_hits), webhook_receiver() as (evil_url, evil_hits):
        settings = make_settings(tmp_path, alert_window="current", webhook_url=f"{admin_url}/hook",
                                 webhook_retries=1)  # fmt: skip
        app = create_app(settings, CollectorRegistry())
        statuses = []
        with TestClient(app) as client:
            q = {"webhook_url": evil_url, "callback": evil_url, "url": evil_url}
            put = client.put("/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes(), params=q)
            assert put.status_code == 200
            for field in ("webhook_url", "retrain_url", "slack_webhook_url", "callback_url", "url"):
                doc = {**body(f"s6-{field}", 20), field: f"{evil_url}/{field}"}
                r = client.post("/v1/models/churn/ingest", content=mp(doc), headers=MSGPACK)
                statuses.append(r.status_code)
                assert r.status_code in (400, 422) and field in r.json()["detail"], r.text
            headers = {
                **MSGPACK,
                "x-webhook-url": evil_url,
                "referer": evil_url,
                "x-forwarded-host": evil_url,
            }
            ok = client.post("/v1/models/churn/ingest", content=mp(_critical("s6-ok")), headers=headers)
            assert ok.status_code == 200, ok.text
            with client.portal() as portal:
                raised = portal.call(app.state.alerts.check)
                portal.call(app.state.alerts.idle)
            assert raised, "the critical batch raised no alert"
        assert [p for p, _ in admin_hits] == ["/hook"]
        assert evil_hits == []
    record("S6 SSRF", load=f"{len(statuses) + 2} requests naming an attacker URL", faults="URLs in bodies, "
           "query strings and headers", sent=len(statuses) + 1, acked=1, lost=0, duplicates=0,
           five_xx=sum(s >= 500 for s in statuses), peak_rss_mib=None,
           seconds=time.monotonic() - started)  # fmt: skip


def test_a_webhook_that_never_answers_costs_one_timeout_per_attempt(
    tmp_path: Path, baseline: mlmon.Baseline
) -> None:
    with silent_receiver() as (url, hits):
        settings = make_settings(tmp_path, alert_window="current", webhook_url=f"{url}/hook",
                                 webhook_timeout_seconds=0.5, webhook_retries=2)  # fmt: skip
        app = create_app(settings, CollectorRegistry())
        with TestClient(app) as client:
            client.put("/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes())
            client.post("/v1/models/churn/ingest", content=mp(_critical("slow")), headers=MSGPACK)
            started = time.monotonic()
            with client.portal() as portal:
                (alert,) = portal.call(app.state.alerts.check)
                portal.call(app.state.alerts.idle)
            elapsed = time.monotonic() - started
            log = app.state.worker.store.list_deliveries(alert.id)
            # Ingest keeps working while (and after) the delivery waits.
            assert client.post(
                "/v1/models/churn/ingest", content=mp(body("after", 5)), headers=MSGPACK
            ).is_success
        assert len(hits) == 2 and [d.ok for d in log] == [False, False], log
        assert all("imeout" in (d.error or "") or "Timeout" in (d.error or "") for d in log), log
        assert elapsed < 2 * 3  # each attempt gave up at its timeout, well before the receiver's 3 s
