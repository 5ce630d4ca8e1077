"""R12 numeric edge values: Hypothesis float64 columns with NaN (quiet and signalling), ±inf, −0,
subnormals and ±1e308, sent as raw buffers, msgpack lists and JSON lists, are counted exactly as a numpy
reference counts them: NaN/null missing, ±inf in the outer bins and out of range, every other value in
``np.searchsorted(cuts, x, side="right")``. Never a 5xx."""

from __future__ import annotations

import itertools
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient
from prometheus_client import CollectorRegistry
from service_helpers import MSGPACK, make_settings, mp

import mlmon
from mlmon.service import create_app

SNAN = struct.unpack("<d", struct.pack("<Q", 0x7FF0_0000_0000_0001))[0]
SPECIAL = [
    float("nan"),
    SNAN,
    float("inf"),
    float("-inf"),
    -0.0,
    0.0,
    5e-324,
    -5e-324,
    2.2250738585072014e-308,
    1e308,
    -1e308,
    1.7976931348623157e308,
    -1.7976931348623157e308,
]
VALUES = st.lists(st.one_of(st.sampled_from(SPECIAL), st.floats(allow_nan=True, allow_infinity=True),
                            st.floats(-200, 200)), min_size=1, max_size=300)  # fmt: skip
_versions = itertools.count()


@pytest.fixture(scope="module")
def service(baseline: mlmon.Baseline) -> Iterator[tuple[Any, mlmon.Baseline]]:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(make_settings(Path(tmp)), CollectorRegistry())
        with TestClient(app) as client:
            yield client, baseline


def reference(baseline: mlmon.Baseline, x: np.ndarray) -> dict[str, Any]:
    """What the counts must be, from numpy alone."""
    edges = baseline.profiles["age"].edges
    cuts = np.asarray(edges.cuts)
    present = x[~np.isnan(x)]
    counts = np.bincount(np.searchsorted(cuts, present, side="right"), minlength=len(cuts) + 1)
    out = int(np.count_nonzero((present < edges.lower) | (present > edges.upper)))
    n = len(x)
    return {"count": n, "missing_rate": (n - len(present)) / n, "out_of_range_rate": out / n,
            "shares": counts / counts.sum() if counts.sum() else np.zeros(len(counts))}  # fmt: skip


def _send(
    client: Any, baseline: mlmon.Baseline, values: list[float], encoding: str
) -> tuple[Any, np.ndarray]:
    version = f"v{next(_versions)}"
    assert (
        client.put(f"/v1/models/m/versions/{version}/baseline", content=baseline.to_bytes()).status_code
        == 200
    )
    x = np.array(values, dtype=np.float64)
    if encoding == "raw":
        doc: dict[str, Any] = {"age": {"dtype": "<f8", "data": x.tobytes()}}
        data = mp({"batch_id": "b", "version": version, "columns": doc})
        r = client.post("/v1/models/m/ingest", content=data, headers=MSGPACK)
    elif encoding == "msgpack":
        body = {"batch_id": "b", "version": version, "columns": {"age": [float(v) for v in x]}}
        r = client.post("/v1/models/m/ingest", content=mp(body), headers=MSGPACK)
    else:  # JSON has no NaN/Inf literal: NaN travels as null, infinities cannot travel at all
        x = x[~np.isinf(x)]
        if not len(x):
            x = np.array([np.nan])
        cells = [None if np.isnan(v) else float(v) for v in x]
        body = {"batch_id": "b", "version": version, "columns": {"age": cells}}
        r = client.post("/v1/models/m/ingest", content=msgspec.json.encode(body),
                        headers={"content-type": "application/json"})  # fmt: skip
    assert r.status_code == 200, r.text
    report = client.get("/v1/models/m/drift", params={"version": version})
    assert report.status_code == 200, report.text
    return report.json()["features"]["age"], x


@pytest.mark.parametrize("encoding", ["raw", "msgpack", "json"])
@settings(max_examples=60, deadline=None)
@given(values=VALUES)
def test_counts_match_numpy(service: tuple[Any, mlmon.Baseline], encoding: str, values: list[float]) -> None:
    client, baseline = service
    got, x = _send(client, baseline, values, encoding)
    want = reference(baseline, x)
    assert got["count"] == want["count"]
    assert got["missing_rate"] == pytest.approx(want["missing_rate"], abs=1e-12)
    assert got["out_of_range_rate"] == pytest.approx(want["out_of_range_rate"], abs=1e-12)
    assert np.allclose(got["current_shares"], want["shares"], atol=1e-12)
    assert all(np.isfinite(got[k]) for k in ("score", "missing_rate", "out_of_range_rate"))


def test_json_non_finite_literals_are_400_naming_nothing_counted(service: tuple[Any, mlmon.Baseline]) -> None:
    client, _ = service
    for lit in (b"NaN", b"Infinity", b"-Infinity", b"1e999"):
        body = b'{"batch_id":"j","version":"v0","columns":{"age":[1.0,' + lit + b"]}}"
        r = client.post("/v1/models/m/ingest", content=body, headers={"content-type": "application/json"})
        assert r.status_code in (400, 422), (lit, r.text)
