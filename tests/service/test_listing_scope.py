"""The listings across models are scoped to the token (issue 17, item 11), against a live process:
``GET /v1/models``, ``GET /v1/alerts`` without ``?model=`` and the dashboard show an ingest token only
its own models (names, versions and alerts of the others stay hidden); the admin token sees all."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from service_helpers import ADMIN, TOKEN_A, TOKEN_B, start_service

import mlmon
from mlmon.store import open_store

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(tmp_path: Path, baseline: mlmon.Baseline) -> Iterator[str]:
    """A service whose store holds churn, fraud and secret, each with a baseline and one alert."""
    url = f"sqlite:///{tmp_path / 'svc.db'}"
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    with open_store(url) as store:
        for model in ("churn", "fraud", "secret"):
            store.register_version(model, "v1")
            sha = store.put_baseline(model, "v1", baseline.to_bytes())
            store.add_alert(
                model, "v1", window_start=start, window_end=start + timedelta(hours=1), feature="age",
                severity="critical", score=0.9, baseline_sha256=sha,
            )  # fmt: skip
    # TOKEN_B is the ingest token of two models (fraud and secret).
    tokens = f"churn={TOKEN_A},fraud={TOKEN_B},secret={TOKEN_B}"
    proc, base = start_service(
        url, tmp_path / "server.log", MLMON_ADMIN_TOKEN=ADMIN, MLMON_INGEST_TOKENS=tokens
    )
    yield base
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def _seen(url: str, token: str) -> tuple[set[str], set[str], str]:
    headers = {"authorization": f"Bearer {token}"}
    models = httpx.get(f"{url}/v1/models", headers=headers, timeout=30)
    alerts = httpx.get(f"{url}/v1/alerts", headers=headers, timeout=30)
    page = httpx.get(f"{url}/", headers=headers, timeout=30)
    assert models.status_code == alerts.status_code == page.status_code == 200
    return {m["name"] for m in models.json()}, {a["model"] for a in alerts.json()}, page.text


def test_listings_show_a_token_only_its_models(server: str) -> None:
    assert _seen(server, ADMIN)[:2] == ({"churn", "fraud", "secret"}, {"churn", "fraud", "secret"})
    models, alerts, page = _seen(server, TOKEN_A)
    assert models == alerts == {"churn"}
    assert "<h2>churn</h2>" in page and "fraud" not in page and "secret" not in page
    # A token configured for two models sees both, and still not the third.
    models, alerts, page = _seen(server, TOKEN_B)
    assert models == alerts == {"fraud", "secret"} and "churn" not in page
    # Asking for another model by name stays a 403; an unknown token a 401.
    other = httpx.get(f"{server}/v1/alerts?model=secret", headers={"authorization": f"Bearer {TOKEN_A}"})
    assert other.status_code == 403
    assert httpx.get(f"{server}/v1/models", headers={"authorization": "Bearer nope"}).status_code == 401
