"""Auth (per-model ingest tokens, admin), the registry and baseline endpoints, reads, probes, dashboard."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from prometheus_client import CollectorRegistry
from service_helpers import ADMIN, MSGPACK, TOKEN_A, TOKEN_B, body, make_settings, mp

import mlmon
from mlmon.service import create_app


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.fixture
def secured(tmp_path: Path, baseline: mlmon.Baseline) -> Iterator[TestClient[Any]]:
    settings = make_settings(tmp_path, admin_token=ADMIN, ingest_tokens={"churn": TOKEN_A, "fraud": TOKEN_B})
    with TestClient(create_app(settings, CollectorRegistry())) as c:
        for model in ("churn", "fraud"):
            url = f"/v1/models/{model}/versions/v1/baseline"
            assert c.put(url, content=baseline.to_bytes(), headers=bearer(ADMIN)).status_code == 200
        yield c


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), (bearer("wrong"), 401), ({"authorization": "Basic x"}, 401), (bearer(TOKEN_B), 403),
     (bearer(TOKEN_A), 200), (bearer(ADMIN), 200)],
)  # fmt: skip
def test_ingest_token_is_scoped_to_its_model(
    secured: TestClient[Any], headers: dict[str, str], status: int
) -> None:
    r = secured.post("/v1/models/churn/ingest", content=mp(body("a", 10)), headers={**MSGPACK, **headers})
    assert r.status_code == status, r.text
    rows = secured.get("/v1/models/churn/drift", headers=bearer(ADMIN)).json()["current_rows"]
    assert rows == (10 if status == 200 else 0)


@pytest.mark.parametrize("route", ["ingest", "labels"])
@pytest.mark.parametrize(("headers", "status"), [({}, 401), (bearer(TOKEN_B), 403)])
def test_write_routes_refuse_the_token_before_reading_the_body(
    tmp_path: Path, baseline: mlmon.Baseline, route: str, headers: dict[str, str], status: int
) -> None:
    """The write routes check the token as their first step (not as a Litestar guard): a body over
    the limit from a caller without the right token is a 401/403, never a 413 that reads it."""
    settings = make_settings(
        tmp_path, admin_token=ADMIN, ingest_tokens={"churn": TOKEN_A, "fraud": TOKEN_B}, max_body_bytes=4096
    )
    with TestClient(create_app(settings, CollectorRegistry())) as c:
        url = f"/v1/models/churn/{route}"
        r = c.post(url, content=b"\x00" * 100_000, headers={**MSGPACK, **headers})
        assert r.status_code == status, r.text
        allowed = c.post(url, content=b"\x00" * 100_000, headers={**MSGPACK, **bearer(TOKEN_A)})
        assert allowed.status_code == 413


def test_baseline_needs_admin_and_is_validated(secured: TestClient[Any], baseline: mlmon.Baseline) -> None:
    url = "/v1/models/churn/versions/v2/baseline"
    assert secured.put(url, content=baseline.to_bytes(), headers=bearer(TOKEN_A)).status_code == 403
    assert secured.put(url, content=b"not a baseline", headers=bearer(ADMIN)).status_code == 422
    got = secured.get("/v1/models/churn/versions/v1/baseline", headers=bearer(TOKEN_A))
    assert got.status_code == 200 and got.content == baseline.to_bytes()
    other = mlmon.Baseline.fit({"x": [1.0, 2.0, 3.0, 4.0]})
    clash = secured.put(
        "/v1/models/churn/versions/v1/baseline", content=other.to_bytes(), headers=bearer(ADMIN)
    )
    assert clash.status_code == 409
    same = secured.put(
        "/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes(), headers=bearer(ADMIN)
    )
    assert same.status_code == 200


def test_registry_reads(client: TestClient[Any]) -> None:
    models = client.get("/v1/models").json()
    assert [m["name"] for m in models] == ["churn"] and models[0]["versions"] == ["v1"]
    assert [v["version"] for v in client.get("/v1/models/churn/versions").json()] == ["v1"]
    assert client.get("/v1/models/nope/versions").status_code == 404
    assert client.get("/v1/models/bad name!/versions").status_code in (404, 422)
    assert client.get("/v1/alerts").json() == []


def test_drift_windows_history_and_html(client: TestClient[Any]) -> None:
    client.post(
        "/v1/models/churn/ingest", content=mp(body("a", 300, sent_at="2024-01-01T10:15:00Z")), headers=MSGPACK
    )
    ranged = client.get(
        "/v1/models/churn/drift", params={"window": "2024-01-01T10:00:00Z/2024-01-01T11:00:00Z"}
    )
    assert ranged.status_code == 200 and ranged.json()["current_rows"] == 300
    assert client.get("/v1/models/churn/drift").json()["current_rows"] == 0
    assert client.get("/v1/models/churn/drift", params={"window": "soon"}).status_code == 422
    assert client.get("/v1/models/churn/drift", params={"window": "2024-01-02/2024-01-01"}).status_code == 422
    assert client.get("/v1/models/churn/drift/history", params={"feature": "age"}).json() == []
    html = client.get("/v1/models/churn/report.html")
    assert html.status_code == 200 and html.text.lstrip().lower().startswith("<!doctype html")


def test_probes_metrics_schema_dashboard(client: TestClient[Any]) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    metrics = client.get("/metrics")
    assert "mlmon_build_info" in metrics.text and metrics.headers["content-type"].startswith("text/plain")
    schema = client.get("/schema/openapi.json").json()
    assert "/v1/models/{model}/ingest" in schema["paths"]
    page = client.get("/")
    assert page.status_code == 200 and "churn" in page.text and "<svg" not in page.text.split("churn")[0]
    rid = client.get("/healthz", headers={"x-request-id": "abc-123"}).headers["x-request-id"]
    assert rid == "abc-123"
