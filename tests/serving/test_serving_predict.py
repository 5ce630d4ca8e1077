"""``POST /predict`` on a production API process: rows or columns, JSON or msgpack, the same predictions
as the model in this process; every bad request answers 4xx naming the problem; 503 without a model."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pandas as pd
import pytest
from serving_helpers import ADMIN, FEATURES, put_model, start_serving

pytestmark = pytest.mark.e2e


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, artifacts: dict[str, bytes]) -> Iterator[str]:
    """A production API with model credit/v1 live."""
    tmp = tmp_path_factory.mktemp("api")
    proc, url = start_serving(tmp / "api.log", MLMON_SERVING_ADMIN_TOKEN=ADMIN, MLMON_SERVING_MAX_ROWS="500")
    try:
        r = put_model(url, artifacts["v1"], "v1")
        assert r.status_code == 200, r.text
        yield url
    finally:
        _stop(proc)


def test_rows_and_columns_in_json_and_msgpack_match_the_model(
    api: str, models: dict[str, Any], rows: list[dict[str, float]]
) -> None:
    expected = models["v1"].predict(pd.DataFrame(rows, columns=FEATURES)).tolist()
    by_rows = httpx.post(f"{api}/predict", json={"rows": rows})
    assert by_rows.status_code == 200, by_rows.text
    answer = by_rows.json()
    ids = answer.pop("request_ids")
    assert answer == {"predictions": expected, "model": "credit", "version": "v1"}
    assert len(set(ids)) == len(rows)  # fresh ids, one per row, for their labels later
    columns = {name: [r[name] for r in rows] for name in FEATURES}
    mine = [f"order-{i}" for i in range(len(rows))]
    packed = httpx.post(
        f"{api}/predict",
        content=msgspec.msgpack.encode({"columns": columns, "request_ids": mine}),
        headers={"content-type": "application/msgpack"},
    )
    assert packed.status_code == 200, packed.text
    assert packed.json()["predictions"] == expected
    assert packed.json()["request_ids"] == mine  # the caller's own ids come back
    short = httpx.post(f"{api}/predict", json={"columns": columns, "request_ids": mine[:-1]})
    assert short.status_code == 422 and "request_ids has" in short.json()["detail"]


@pytest.mark.parametrize(
    ("payload", "status", "needle"),
    [
        ({"rows": [{"age": 30.0}]}, 422, "missing feature 'income'"),
        ({"rows": [{"age": 30.0, "income": 1.0, "agee": 2.0}]}, 422, "unknown feature 'agee'"),
        ({"columns": {"age": [1.0, 2.0], "income": [1.0]}}, 422, "feature 'income' has 1 values"),
        ({"rows": [{"age": "old", "income": 1.0}]}, 422, "text values in feature 'age'"),
        ({"rows": [{"age": None, "income": 1.0}]}, 422, "missing values in feature 'age'"),
        ({"rows": [{"age": 1.0, "income": 1.0}] * 501}, 422, "limit of 500"),
        ({"rows": []}, 422, "no rows"),
        ({}, 422, "exactly one of"),
        ({"rows": [{"age": 1.0, "income": 1.0}], "columns": {}}, 422, "exactly one of"),
        ({"rows": [{"age": [1.0], "income": 1.0}]}, 400, "malformed body"),
        ({"row": []}, 400, "malformed body"),
    ],
)
def test_bad_requests_name_the_problem(api: str, payload: dict[str, Any], status: int, needle: str) -> None:
    r = httpx.post(f"{api}/predict", json=payload)
    assert r.status_code == status, r.text
    assert needle in r.json()["detail"]


def test_malformed_and_unsupported_bodies(api: str) -> None:
    r = httpx.post(f"{api}/predict", content=b'{"rows": [', headers={"content-type": "application/json"})
    assert r.status_code == 400 and "malformed" in r.json()["detail"]
    r = httpx.post(f"{api}/predict", content=b"age,income\n1,2", headers={"content-type": "text/csv"})
    assert r.status_code == 415 and "text/csv" in r.json()["detail"]
    nested = b"[" * 100_000
    r = httpx.post(f"{api}/predict", content=nested, headers={"content-type": "application/json"})
    assert r.status_code == 400


def test_no_model_answers_503_and_healthz_stays_up(tmp_path: Path) -> None:
    proc, url = start_serving(tmp_path / "api.log")
    try:
        assert httpx.get(f"{url}/healthz").status_code == 200
        for r in (
            httpx.get(f"{url}/version"),
            httpx.get(f"{url}/readyz"),
            httpx.post(f"{url}/predict", json={"rows": [{"age": 1.0}]}),
        ):
            assert r.status_code == 503, r.text
            assert "no model" in r.json()["detail"] and r.headers["retry-after"] == "1"
    finally:
        _stop(proc)
