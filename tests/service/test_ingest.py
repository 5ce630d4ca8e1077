"""POST /v1/models/{model}/ingest in process: formats, exact counts, idempotency and every 4xx."""

from __future__ import annotations

import base64
from typing import Any

import msgspec
import numpy as np
import pytest
from litestar.testing import TestClient
from prometheus_client import CollectorRegistry
from service_helpers import MSGPACK, body, make_settings, mp

import mlmon
from mlmon.service import create_app

URL = "/v1/models/churn/ingest"


def rows_in_window(client: TestClient[Any]) -> int:
    report = client.get("/v1/models/churn/drift").json()
    return int(report["current_rows"])


def feature_count(client: TestClient[Any], name: str) -> int:
    return int(client.get("/v1/models/churn/drift").json()["features"][name]["count"])


def test_msgpack_raw_and_lists_and_json_count_exactly(client: TestClient[Any]) -> None:
    assert client.post(URL, content=mp(body("a", 100)), headers=MSGPACK).json()["status"] == "accepted"
    assert client.post(URL, content=mp(body("b", 50, raw=False)), headers=MSGPACK).status_code == 200
    r = client.post(URL, content=msgspec.json.encode(body("c", 25)))  # bytes → base64 in JSON
    assert r.status_code == 200, r.text
    assert rows_in_window(client) == 175
    assert feature_count(client, "age") == 175
    assert feature_count(client, "plan") == 175


def test_counts_match_the_library_monitor(client: TestClient[Any], baseline: Any) -> None:
    b = body("x", 1000, seed=7)
    client.post(URL, content=mp(b), headers=MSGPACK)
    served = client.get("/v1/models/churn/drift").json()["features"]["age"]
    ref = np.frombuffer(b["columns"]["age"]["data"], "<f8")
    monitor = mlmon.Monitor(baseline)
    monitor.update({"age": ref, "plan": np.array(b["columns"]["plan"], dtype=object)})
    local = monitor.report().features["age"]
    assert served["current_shares"] == local.current_shares
    assert served["score"] == pytest.approx(local.score)


def test_retry_is_counted_once_and_other_content_is_409(client: TestClient[Any]) -> None:
    first = client.post(URL, content=mp(body("same", 100)), headers=MSGPACK)
    again = client.post(URL, content=msgspec.json.encode(body("same", 100)))  # other encoding, same counts
    assert (first.json()["status"], again.json()["status"]) == ("accepted", "duplicate")
    clash = client.post(URL, content=mp(body("same", 100, seed=9)), headers=MSGPACK)
    assert clash.status_code == 409
    assert "same" in clash.json()["detail"]
    assert rows_in_window(client) == 100


def test_missing_values_and_absent_columns_count_as_missing(client: TestClient[Any]) -> None:
    ages = np.array([1.0, np.nan, 3.0, np.inf])
    cols = {"age": {"dtype": "<f8", "data": ages.tobytes()}}
    r = client.post(URL, content=mp({"batch_id": "m", "columns": cols}), headers=MSGPACK)
    assert r.status_code == 200, r.text
    r = client.post(
        URL,
        content=msgspec.json.encode({"batch_id": "n", "columns": {"age": [None, 2], "plan": ["a", None]}}),
    )
    assert r.status_code == 200, r.text
    feats = client.get("/v1/models/churn/drift").json()["features"]
    assert feats["age"]["count"] == 6 and feats["plan"]["count"] == 6
    assert feats["age"]["missing_rate"] == pytest.approx(2 / 6)
    assert feats["plan"]["missing_rate"] == pytest.approx(5 / 6)  # 4 absent + 1 null


def test_coded_categorical_and_int_dtypes(client: TestClient[Any]) -> None:
    codes = np.array([0, 1, 1, -1], dtype="<i4")
    cols = {"plan": {"categories": ["a", "b"], "codes": {"dtype": "<i4", "data": codes.tobytes()}},
            "age": {"dtype": "<i8", "data": np.arange(4, dtype="<i8").tobytes()}}  # fmt: skip
    r = client.post(URL, content=mp({"batch_id": "codes", "columns": cols}), headers=MSGPACK)
    assert r.status_code == 200, r.text
    assert rows_in_window(client) == 4


@pytest.mark.parametrize(
    ("columns", "needle"),
    [
        ({"agez": [1.0]}, "agez"),
        ({"age": ["x"]}, "age"),
        ({"plan": [1.5]}, "plan"),
        ({"age": [1.0, 2.0], "plan": ["a"]}, "plan"),
        ({"age": {"dtype": "<f8", "data": b"\0" * 12}}, "age"),
        ({"age": {"dtype": "<u8", "data": b"\0" * 8}}, "age"),
        ({"plan": {"categories": ["a"], "codes": [3]}}, "plan"),
        ({"age": []}, "no rows"),
        ({}, "none of the model"),
    ],
)
def test_bad_columns_are_422_naming_the_column(client: TestClient[Any], columns: Any, needle: str) -> None:
    r = client.post(URL, content=mp({"batch_id": "bad", "columns": columns}), headers=MSGPACK)
    assert r.status_code == 422, r.text
    assert needle in r.json()["detail"]
    assert rows_in_window(client) == 0


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        (b"\xc1", MSGPACK, 400),
        (b"{", {}, 400),
        (mp({"columns": {}}), MSGPACK, 400),  # no batch_id
        (mp({"batch_id": "a", "columns": {}, "extra": 1}), MSGPACK, 400),
        (mp({"batch_id": "../../etc", "columns": {}}), MSGPACK, 400),
        (b"\x82\xa8batch_id\xa1a\xa7columns" + b"\x91" * 100_000 + b"\xc0", MSGPACK, 400),
        (b"\xdd\xff\xff\xff\xff", MSGPACK, 400),  # array32 length bomb
        (b"{}", {"content-type": "text/plain"}, 415),
        (b"{}", {"content-encoding": "gzip"}, 415),
    ],
)
def test_malformed_bodies(
    client: TestClient[Any], content: bytes, headers: dict[str, str], status: int
) -> None:
    r = client.post(URL, content=content, headers=headers)
    assert r.status_code == status, r.text


def test_json_nan_literal_is_400(client: TestClient[Any]) -> None:
    r = client.post(URL, content=b'{"batch_id":"n","columns":{"age":[NaN]}}')
    assert r.status_code == 400


def test_base64_in_json_and_unknown_model_or_version(client: TestClient[Any]) -> None:
    data = base64.b64encode(np.ones(3).tobytes()).decode()
    ok = client.post(
        URL,
        content=msgspec.json.encode({"batch_id": "j", "columns": {"age": {"dtype": "<f8", "data": data}}}),
    )
    assert ok.status_code == 200, ok.text
    assert client.post("/v1/models/nope/ingest", content=mp(body("a")), headers=MSGPACK).status_code == 404
    assert client.post(URL, content=mp(body("a", version="v9")), headers=MSGPACK).status_code == 404


def test_body_over_limit_is_413(tmp_path: Any, baseline: Any) -> None:
    with TestClient(create_app(make_settings(tmp_path, max_body_bytes=1000), CollectorRegistry())) as c:
        c.put("/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes())
        assert c.post(URL, content=mp(body("big", 500)), headers=MSGPACK).status_code == 413


def test_rejections_and_ingest_are_in_metrics(client: TestClient[Any]) -> None:
    client.post(URL, content=mp(body("a", 10)), headers=MSGPACK)
    client.post(URL, content=b"\xc1", headers=MSGPACK)
    text = client.get("/metrics").text
    assert 'mlmon_rows_ingested_total{model="churn",version="v1"} 10.0' in text
    assert 'mlmon_batches_rejected_total{reason="malformed"} 1.0' in text
    assert "mlmon_store_commit_duration_seconds_count" in text


def test_integer_categories_match_over_the_wire(tmp_path: Any) -> None:
    """A feature fitted on integers matches integer labels, canonical integer strings and coded
    integer categories; a feature fitted on strings reads integers as their strings."""
    rng = np.random.default_rng(3)
    tier = rng.integers(0, 3, 3000)
    fitted = mlmon.Baseline.fit({"tier": tier, "plan": rng.choice(["1", "2"], 3000)}, categorical=["tier"])
    app = create_app(make_settings(tmp_path), CollectorRegistry())
    with TestClient(app) as c:
        assert c.put("/v1/models/m/versions/v1/baseline", content=fitted.to_bytes()).status_code == 200
        bodies = [
            {"tier": [0, 1, 2, None], "plan": [1, 2, "1", None]},
            {"tier": ["0", "1", "2", "07"], "plan": ["1", "2", "1", "2"]},
            {"tier": {"categories": [2, "1", 0], "codes": [0, 1, 2, -1]}, "plan": [2, 2, 2, 2]},
        ]
        for i, cols in enumerate(bodies):
            r = c.post(
                "/v1/models/m/ingest", content=mp({"batch_id": f"b{i}", "columns": cols}), headers=MSGPACK
            )
            assert r.status_code == 200, r.text
        r = c.post(
            "/v1/models/m/ingest", content=msgspec.json.encode({"batch_id": "j", "columns": bodies[0]})
        )
        assert r.status_code == 200, r.text
        feats = c.get("/v1/models/m/drift").json()["features"]
    # "07" is not the canonical spelling of 7 or 0: unseen, not silently merged.
    tier, plan = feats["tier"], feats["plan"]
    assert tier["count"] == 16 and tier["missing_rate"] == 3 / 16
    assert tier["unseen_rate"] == 1 / 16 and tier["top_unseen"] == [["07", 1]]
    assert plan["count"] == 16 and plan["unseen_rate"] == 0 and plan["missing_rate"] == 2 / 16


def _msgpack_with_repeated_age(batch_id: str) -> bytes:
    # msgspec cannot encode a repeated key, so the map is written by hand: header 0x83, three entries.
    ages = [mp("age") + mp([1.0, 2.0]), mp("age") + mp([3.0, 4.0]), mp("plan") + mp(["a", "b"])]
    return b"\x82" + mp("batch_id") + mp(batch_id) + mp("columns") + b"\x83" + b"".join(ages)


def test_repeated_column_names_are_422_and_count_nothing(client: TestClient[Any]) -> None:
    r = client.post(URL, content=_msgpack_with_repeated_age("dup-mp"), headers=MSGPACK)
    assert r.status_code == 422 and "repeated" in r.text, r.text
    text = b'{"batch_id": "dup-json", "columns": {"age": [1.0],\n  "plan": ["a"], "age" : [2.0]}}'
    r = client.post(URL, content=text, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "'age' repeated" in r.text, r.text
    assert client.get("/v1/models/churn/drift").json()["current_rows"] == 0
    # Whitespace and a name spelled with an escape are not repeats.
    ok = b'{"batch_id": "ok", "columns": { "\\u0061ge" : [1.0, 2.0] ,\n "plan": ["a", "b"] } }'
    r = client.post(URL, content=ok, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    assert rows_in_window(client) == 2
