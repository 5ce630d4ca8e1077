"""Overload: beyond the in-flight byte budget the service answers 429 with Retry-After before reading
the body, and the counts equal the sum of the acknowledged batches."""

from __future__ import annotations

from pathlib import Path

from litestar.testing import TestClient
from prometheus_client import CollectorRegistry
from service_helpers import MSGPACK, body, make_settings, mp

import mlmon
from mlmon.service import create_app

URL = "/v1/models/churn/ingest"


def test_byte_budget_answers_429_with_retry_after_and_counts_stay_exact(
    tmp_path: Path, baseline: mlmon.Baseline
) -> None:
    small = [mp(body(f"s{i}", 10 + i, seed=i)) for i in range(5)]
    large = [mp(body(f"l{i}", 500 + i, seed=i)) for i in range(5)]
    budget = 4 * max(len(b) for b in small) + 1000
    assert all(len(b) > budget for b in large)
    app = create_app(make_settings(tmp_path, inflight_bytes=budget), CollectorRegistry())
    with TestClient(app) as client:
        assert (
            client.put("/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes()).status_code
            == 200
        )
        acked = 0
        # another request holds most of the budget: only bodies that fit the rest are read
        with app.state.core.reserve(budget - 2 * max(len(b) for b in small)):
            for b in large:
                r = client.post(URL, content=b, headers=MSGPACK)
                assert r.status_code == 429, r.text
                assert int(r.headers["retry-after"]) >= 1
            for b in small:
                r = client.post(URL, content=b, headers=MSGPACK)
                assert r.status_code == 200, r.text
                acked += r.json()["rows"]
        report = client.get("/v1/models/churn/drift").json()
        assert int(report["current_rows"]) == acked == sum(10 + i for i in range(5))
        assert int(report["features"]["age"]["count"]) == acked
        # the budget is released and the refused batches were never counted: now accepted, not duplicate
        for b in large:
            assert client.post(URL, content=b, headers=MSGPACK).json()["status"] == "accepted"
        assert int(client.get("/v1/models/churn/drift").json()["current_rows"]) == acked + sum(
            500 + i for i in range(5)
        )
