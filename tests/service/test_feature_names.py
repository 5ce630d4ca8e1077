"""Feature names outside the name rule (issue 17, item 6), against a live process: the upload is a 422
naming the feature and stores nothing, ``Baseline.fit`` refuses a name no wire format can hold, and a
bad baseline already in the store (stored before the check) costs its own model a 422 while every other
model reads fine."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from service_helpers import ADMIN, start_service

import mlmon
from mlmon.core.schema import FeatureSpec
from mlmon.store import open_store

pytestmark = pytest.mark.e2e

BAD = ['a<b"', "x y", "naïve", "-lead", "a" * 129]
UNUSABLE = ['a<b"', "a\\b", "a\nb", ""]
"""Names no wire format can hold: ``fit`` refuses them (spaces and slashes are common in real data
and stay fittable; the service refuses those at upload)."""
ADMIN_H = {"authorization": f"Bearer {ADMIN}"}


def _renamed(baseline: mlmon.Baseline, name: str) -> mlmon.Baseline:
    """``baseline``'s ``age`` feature under ``name`` (built directly: ``fit`` refuses the name)."""
    spec = baseline.features["age"]
    return mlmon.Baseline(
        [FeatureSpec(name, spec.kind, spec.dtype)], {name: baseline.profiles["age"]}, n_rows=baseline.n_rows
    )


@pytest.fixture
def server(tmp_path: Path, baseline: mlmon.Baseline) -> Iterator[str]:
    """A service whose store already holds a bad baseline as legacy/v1 (as a store from before the
    upload check would)."""
    url = f"sqlite:///{tmp_path / 'svc.db'}"
    with open_store(url) as store:
        store.register_version("legacy", "v1")
        store.put_baseline("legacy", "v1", _renamed(baseline, 'a<b"').to_bytes())
    proc, base = start_service(url, tmp_path / "server.log", MLMON_ADMIN_TOKEN=ADMIN)
    yield base
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


@pytest.mark.parametrize("name", UNUSABLE)
def test_fit_refuses_a_bad_feature_name(name: str) -> None:
    with pytest.raises(mlmon.InputError, match="feature"):
        mlmon.Baseline.fit({name: np.arange(100.0)})


def test_bad_names_are_refused_at_upload_and_one_bad_model_spoils_no_other(
    server: str, baseline: mlmon.Baseline
) -> None:
    with httpx.Client(base_url=server, headers=ADMIN_H, timeout=30) as c:
        for i, name in enumerate(BAD):
            r = c.put(f"/v1/models/m{i}/versions/v1/baseline", content=_renamed(baseline, name).to_bytes())
            assert r.status_code == 422, (name, r.text)
            detail = r.json()["detail"]
            assert detail.startswith("feature ") and ("not a valid name" in detail or "long" in detail)
            assert c.get(f"/v1/models/m{i}/versions/v1/baseline").status_code == 404  # nothing stored
        assert c.put("/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes()).status_code == 200
        # The legacy bad baseline: its own reads are a 422 naming the feature, never a 500 ...
        for path in ("/v1/models/legacy/report.html", "/v1/models/legacy/drift"):
            r = c.get(path)
            assert r.status_code == 422, (path, r.text)
            assert "a<b" in r.json()["detail"]
        # ... and every other model, and the dashboard listing them all, still read.
        assert c.get("/v1/models/churn/report.html").status_code == 200
        assert c.get("/v1/models/churn/drift").status_code == 200
        page = c.get("/")
        assert page.status_code == 200, page.text
        assert "churn" in page.text and "cannot be shown" in page.text
        assert "a&lt;b&quot;" in page.text  # the bad name is escaped, not rendered
