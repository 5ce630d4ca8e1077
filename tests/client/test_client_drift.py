"""DriftClient against a real drift service process on loopback: the counts in the store equal the rows
recorded, batches leave by size and by age, ``close()`` sends the rest, and bad input never raises."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import warnings

import httpx
import numpy as np
import pandas as pd
import pytest
from client_helpers import rows_counted, wait_for
from prometheus_client import CollectorRegistry

from mlmon.client import AsyncDriftClient, DriftClient
from mlmon.exceptions import InputError

pytestmark = pytest.mark.e2e


def _rows(n: int, seed: int = 0) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    plans = ["a", "b", "c", None]
    return [{"age": float(rng.normal(40, 9)), "plan": plans[i % 4]} for i in range(n)]


def test_counts_equal_rows_recorded_rows_and_column_batches(service: str, model: str) -> None:
    frame = pd.DataFrame({"age": np.arange(500, dtype=np.int64), "plan": pd.Categorical(["a", "b"] * 250)})
    with DriftClient(service, model, version="v1", batch_rows=100, registry=CollectorRegistry()) as client:
        for row in _rows(1234):
            client.record(row)
        client.record_batch(frame)
        client.record_batch({"age": np.array([1.0, np.nan, 3.0]), "plan": ["a", None, "zz"]})
    assert client.sent == rows_counted(service, model) == 1234 + 500 + 3
    assert client.dropped == client.rejected == client.retries == 0
    features = httpx.get(f"{service}/v1/models/{model}/drift").json()["features"]
    assert int(features["age"]["count"]) == 1737


def test_flush_by_size(service: str, model: str) -> None:
    with DriftClient(service, model, version="v1", batch_rows=50, flush_interval=60) as client:
        for row in _rows(120):
            client.record(row)
        # two full batches leave at once; the last 20 rows wait for the age trigger or close
        assert wait_for(lambda: client.sent == 100)
        assert client.buffered == 20
        assert rows_counted(service, model) == 100
    assert rows_counted(service, model) == 120


def test_flush_by_age(service: str, model: str) -> None:
    with DriftClient(service, model, version="v1", batch_rows=1000, flush_interval=0.2) as client:
        for row in _rows(10):
            client.record(row)
        assert wait_for(lambda: client.sent == 10)
        assert rows_counted(service, model) == 10


def test_close_sends_what_is_buffered(service: str, model: str) -> None:
    client = DriftClient(service, model, version="v1", batch_rows=1000, flush_interval=60)
    for row in _rows(7):
        client.record(row)
    assert client.buffered == 7 and client.sent == 0
    client.close()
    client.close()  # idempotent
    assert rows_counted(service, model) == client.sent == 7
    client.record({"age": 1.0})  # after close: counted as dropped, never raised
    assert client.dropped == 1


def test_async_client_counts_equal_rows_recorded(service: str, model: str) -> None:
    async def main() -> AsyncDriftClient:
        async with AsyncDriftClient(service, model, version="v1", batch_rows=300) as client:
            for row in _rows(1000):
                client.record(row)
            client.record_batch({"age": [1.0, 2.0], "plan": ["a", "b"]})
            assert await client.flush()
            assert client.sent == 1002
            client.record({"age": 3.0, "plan": "c"})
        return client

    client = asyncio.run(main())
    assert client.sent == rows_counted(service, model) == 1003
    assert client.dropped == client.rejected == 0


def test_bad_input_never_raises_and_is_counted(
    service: str, model: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = DriftClient(service, model, version="v1", batch_rows=10)
    with caplog.at_level(logging.WARNING, logger="mlmon.client"), client:
        client.record(None)  # type: ignore[arg-type]
        client.record_batch(object())
        client.record_batch({"age": [1.0, 2.0], "plan": ["a"]})  # unequal lengths
        assert client.rejected_batches == 3
        # a text value in a numerical feature: the service refuses the batch (422), final, no retry
        for i in range(20):
            client.record({"age": "old" if i == 0 else 30.0, "plan": "a"})
        assert client.flush()
    assert client.rejected == 10 and client.sent == 10 and client.retries == 0
    assert rows_counted(service, model) == 10
    refusals = [r for r in caplog.records if "HTTP 422" in r.getMessage()]
    assert len(refusals) == 1 and "age" in refusals[0].getMessage()


def test_declared_kinds_send_integer_codes_as_categories(service: str, baseline_codes: str) -> None:
    with DriftClient(service, baseline_codes, version="v1", kinds={"tier": "categorical"}) as client:
        for i in range(30):
            client.record({"tier": i % 3})
        client.record_batch({"tier": np.array([0, 1, 2])})
    assert client.sent == rows_counted(service, baseline_codes) == 33
    assert client.rejected == 0
    # Integer labels stay integers on the wire, so they match the integer categories they were fitted on.
    tier = httpx.get(f"{service}/v1/models/{baseline_codes}/drift", timeout=10).json()["features"]["tier"]
    assert tier["unseen_rate"] == 0 and tier["score"] < 0.01


def test_invalid_settings_raise_at_construction() -> None:
    with pytest.raises(InputError, match="model"):
        DriftClient("http://127.0.0.1:9", "bad name/..", close_timeout=0)
    with pytest.raises(InputError, match="max_buffer_rows"):
        DriftClient("http://127.0.0.1:9", "m", batch_rows=100, max_buffer_rows=10, close_timeout=0)
    with pytest.raises(InputError, match="http"):
        DriftClient("ftp://127.0.0.1:9", "m", close_timeout=0)


@pytest.fixture
def baseline_codes(service: str) -> str:
    """A model whose only feature ``tier`` holds integer category codes."""
    import mlmon

    base = mlmon.Baseline.fit({"tier": np.array([0, 1, 2] * 100)}, categorical=["tier"])
    put = httpx.put(f"{service}/v1/models/codes/versions/v1/baseline", content=base.to_bytes())
    assert put.status_code == 200, put.text
    return "codes"


def test_many_threads_recording_lose_no_row(service: str, model: str) -> None:
    rows = _rows(2500)
    with DriftClient(service, model, version="v1", batch_rows=700, flush_interval=0.05) as client:
        threads = [threading.Thread(target=lambda: [client.record(r) for r in rows]) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert client.sent == rows_counted(service, model) == 10_000
    assert client.dropped == client.rejected == 0


def test_async_client_fed_from_worker_threads(service: str, model: str) -> None:
    rows = _rows(1500)

    async def main() -> AsyncDriftClient:
        async with AsyncDriftClient(
            service, model, version="v1", batch_rows=400, flush_interval=0.05
        ) as client:
            await asyncio.gather(
                *(asyncio.to_thread(lambda: [client.record(r) for r in rows]) for _ in range(3))
            )
        return client

    client = asyncio.run(main())
    assert client.sent == rows_counted(service, model) == 4500
    assert client.dropped == client.rejected == 0


def test_small_column_batches_leave_as_few_large_batches(service: str, model: str) -> None:
    coded = pd.DataFrame({"age": [30.0, 31.0], "plan": pd.Categorical(["a", "b"])})
    with DriftClient(service, model, version="v1", batch_rows=100, flush_interval=60) as client:
        for i in range(60):  # one small batch per request, as the production API records them
            client.record_batch(coded if i % 3 == 0 else {"age": np.array([40.0 + i]), "plan": ["c"]})
            client.record({"age": 50.0, "plan": "a"} if i % 2 else {"age": 51.0})  # plan missing: counted
        client.record_batch({"age": [1.0, 2.0, 3.0]})
        assert wait_for(lambda: client.sent == 100)  # one full batch of chunks and rows
        assert client._core.sent_batches == 1 and client.buffered == 43
    assert client.sent == rows_counted(service, model) == 143
    features = httpx.get(f"{service}/v1/models/{model}/drift").json()["features"]
    assert int(features["age"]["count"]) == int(features["plan"]["count"]) == 143


def test_concat_columns_keeps_kinds_and_fills_missing() -> None:
    from mlmon.client._columns import Coded, Labels, concat_columns

    codes = Coded(["a", "b"], np.array([0, 1, -1]))
    parts = [
        ({"x": np.array([1.0, 2.0]), "c": Labels(["a", None])}, 2),
        ({"x": np.array([3.0, 4.0, 5.0]), "c": codes}, 3),
        ({"c": Labels(["z"])}, 1),
    ]
    out = concat_columns(parts)
    np.testing.assert_array_equal(out["x"], [1.0, 2.0, 3.0, 4.0, 5.0, np.nan])
    assert out["c"] == Labels(["a", None, "a", "b", None, "z"])
    both = concat_columns([({"c": codes}, 3), ({"c": Coded(["a", "b"], np.array([1]))}, 1)])
    assert isinstance(both["c"], Coded) and both["c"].codes.tolist() == [0, 1, -1, 1]


def test_forked_child_gets_its_own_sender(service: str, model: str) -> None:
    client = DriftClient(service, model, version="v1", batch_rows=1000, flush_interval=60)
    for row in _rows(10):
        client.record(row)
    with warnings.catch_warnings():  # Python 3.12+ warns that forking a threaded process may deadlock
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: the parent's 10 buffered rows are the parent's to send
        code = 1
        try:
            for row in _rows(5):
                client.record(row)
            client.close()
            code = 0 if (client.sent, client.dropped) == (5, 0) else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    client.close()
    assert os.waitstatus_to_exitcode(status) == 0
    assert client.sent == 10 and rows_counted(service, model) == 15


@pytest.mark.parametrize("module", ["mlmon.client._sync", "mlmon.client._async"])
def test_docstring_examples_run(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
