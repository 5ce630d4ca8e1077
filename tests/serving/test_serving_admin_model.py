"""``PUT /admin/model`` on a production API process: token (401/403), headers, sha256 checked before any
deserializer runs (a tampered pickle never executes), the swap under load with zero failed predictions,
``/version`` after it, an unchanged re-deploy, and the live model restored after a restart."""

from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from serving_helpers import ADMIN, FEATURES, deploy_headers, metric, put_model, start_serving

pytestmark = pytest.mark.e2e


class _Sentinel:
    """Unpickling this writes a file: proof that a deserializer ran."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.path}",))


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A production API with an admin token and a model directory, no model yet."""
    model_dir = tmp_path / "models"
    proc, url = start_serving(
        tmp_path / "api.log", MLMON_SERVING_ADMIN_TOKEN=ADMIN, MLMON_SERVING_MODEL_DIR=str(model_dir)
    )
    try:
        yield url, model_dir
    finally:
        _stop(proc)


def test_token_is_checked_first(api: tuple[str, Path], artifacts: dict[str, bytes]) -> None:
    url, _ = api
    data = artifacts["v1"]
    missing = put_model(url, data, "v1", token=None)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert put_model(url, data, "v1", token="wrong").status_code == 403
    r = httpx.put(
        f"{url}/admin/model",
        content=data,
        headers={**deploy_headers(data, "v1"), "Authorization": "Basic eDp5"},
    )
    assert r.status_code == 401
    assert httpx.get(f"{url}/version").status_code == 503  # nothing was loaded


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ({"X-Model-Format": "onnx"}, "X-Model-Format"),
        ({"X-Model-Name": "../../etc/passwd"}, "X-Model-Name"),
        ({"X-Model-Version": ""}, "X-Model-Version"),
        ({"X-Model-SHA256": "abc"}, "64 hex digits"),
    ],
)
def test_bad_headers_are_422(
    api: tuple[str, Path], artifacts: dict[str, bytes], override: dict[str, str], needle: str
) -> None:
    url, _ = api
    data = artifacts["v1"]
    r = httpx.put(f"{url}/admin/model", content=data, headers={**deploy_headers(data, "v1"), **override})
    assert r.status_code == 422 and needle in r.json()["detail"], r.text


def test_wrong_sha256_is_refused_before_loading_and_the_old_model_stays(
    api: tuple[str, Path], artifacts: dict[str, bytes], tmp_path: Path, rows: list[dict[str, float]]
) -> None:
    url, model_dir = api
    assert put_model(url, artifacts["v1"], "v1").status_code == 200
    before = httpx.post(f"{url}/predict", json={"rows": rows}).json()
    sentinel = tmp_path / "pwned"
    evil = pickle.dumps(_Sentinel(sentinel))
    claimed = hashlib.sha256(artifacts["v2"]).hexdigest()  # the digest of another (reviewed) artifact
    for fmt in ("pickle", "joblib"):  # skops only by default: refused before the body is read
        r = put_model(url, evil, "v2", fmt=fmt, sha256=claimed)
        assert r.status_code == 403 and r.json()["reason"] == "untrusted_artifact", r.text
    r = put_model(url, evil, "v2", fmt="skops", sha256=claimed)
    assert r.status_code == 422, r.text
    assert r.json()["expected"] == claimed and r.json()["actual"] == hashlib.sha256(evil).hexdigest()
    flipped = bytearray(artifacts["v2"])
    flipped[len(flipped) // 2] ^= 1
    assert put_model(url, bytes(flipped), "v2", sha256=claimed).status_code == 422
    assert not sentinel.exists()
    assert httpx.get(f"{url}/version").json()["version"] == "v1"
    after = httpx.post(f"{url}/predict", json={"rows": rows}).json()
    assert after["predictions"] == before["predictions"] and after["version"] == before["version"]
    assert metric(url, "mlmon_serving_deploys_total", outcome="refused") == 4
    assert metric(url, "mlmon_serving_deploys_total", outcome="live") == 1
    stored = {p.name for p in model_dir.iterdir()}
    assert stored == {
        "current.json",
        f"{hashlib.sha256(artifacts['v1']).hexdigest()}.skops",
    }  # nothing else kept


def test_an_artifact_that_does_not_load_keeps_the_old_model(
    api: tuple[str, Path], artifacts: dict[str, bytes]
) -> None:
    url, _ = api
    assert put_model(url, artifacts["v1"], "v1").status_code == 200
    r = put_model(url, b"not a skops file", "v2")
    assert r.status_code == 422, r.text
    assert httpx.get(f"{url}/version").json()["version"] == "v1"


def test_swap_under_load_drops_no_prediction(
    api: tuple[str, Path], artifacts: dict[str, bytes], models: dict[str, Any], rows: list[dict[str, float]]
) -> None:
    import pandas as pd

    url, _ = api
    assert put_model(url, artifacts["v1"], "v1").status_code == 200
    frame = pd.DataFrame(rows[:50], columns=FEATURES)
    expected = {v: models[v].predict(frame).tolist() for v in ("v1", "v2")}
    results: list[tuple[int, str, bool]] = []
    stop = threading.Event()

    def hammer() -> None:
        deadline = time.monotonic() + 60
        with httpx.Client(timeout=30) as client:
            while not stop.is_set() and time.monotonic() < deadline and len(results) < 5000:
                r = client.post(f"{url}/predict", json={"rows": rows[:50]})
                body = r.json()
                ok = r.status_code == 200 and body["predictions"] == expected[body["version"]]
                results.append((r.status_code, body.get("version", ""), ok))

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for version in ("v2", "v1", "v2"):
            time.sleep(0.3)
            r = put_model(url, artifacts[version], version)
            assert r.status_code == 200, r.text
            assert r.json() == {
                "model": "credit",
                "version": version,
                "sha256": hashlib.sha256(artifacts[version]).hexdigest(),
            }
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert len(results) > 20
    assert all(status == 200 and ok for status, _, ok in results)  # zero errors, each answer from one model
    assert {v for _, v, _ in results} == {"v1", "v2"}
    live = httpx.get(f"{url}/version").json()
    assert live["version"] == "v2" and live["sha256"] == hashlib.sha256(artifacts["v2"]).hexdigest()


def test_same_artifact_again_is_unchanged(api: tuple[str, Path], artifacts: dict[str, bytes]) -> None:
    url, _ = api
    first = put_model(url, artifacts["v1"], "v1")
    loaded_at = httpx.get(f"{url}/version").json()["loaded_at"]
    again = put_model(url, artifacts["v1"], "v1")
    assert first.status_code == again.status_code == 200
    assert again.json() == {**first.json(), "unchanged": True}
    assert httpx.get(f"{url}/version").json()["loaded_at"] == loaded_at
    relabelled = put_model(url, artifacts["v1"], "v1-retagged")  # same bytes, new version: no reload
    assert relabelled.status_code == 200 and "unchanged" not in relabelled.json()
    assert httpx.get(f"{url}/version").json()["version"] == "v1-retagged"


@pytest.mark.slow  # make test-slow: over 15 s on 2 busy cores
def test_restart_serves_the_last_deployed_model(tmp_path: Path, artifacts: dict[str, bytes]) -> None:
    env = {"MLMON_SERVING_ADMIN_TOKEN": ADMIN, "MLMON_SERVING_MODEL_DIR": str(tmp_path / "models")}
    proc, url = start_serving(tmp_path / "api.log", **env)
    try:
        assert put_model(url, artifacts["v2"], "v2").status_code == 200
        live = httpx.get(f"{url}/version").json()
    finally:
        _stop(proc)
    proc, url = start_serving(tmp_path / "api.log", **env)
    try:
        again = httpx.get(f"{url}/version").json()
        assert {k: again[k] for k in ("model", "version", "sha256")} == {
            k: live[k] for k in ("model", "version", "sha256")
        }
    finally:
        _stop(proc)


def test_pickle_needs_an_admin_token(tmp_path: Path, models: dict[str, Any]) -> None:
    proc, url = start_serving(tmp_path / "api.log")  # loopback, no admin token: skops only
    try:
        r = put_model(url, pickle.dumps(models["v1"]), "v1", fmt="pickle", token=None)
        assert r.status_code == 403 and "skops" in r.json()["detail"]
    finally:
        _stop(proc)
