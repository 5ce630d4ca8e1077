"""The clients send request ids with their batches (row by row or per column batch) and labels later;
the service joins them: against a real service process."""

from __future__ import annotations

import asyncio
import time

import httpx
import numpy as np
import pytest

import mlmon
from mlmon.client import AsyncDriftClient, DriftClient, LabelsRefusedError, LabelsUndeliveredError
from mlmon.exceptions import InputError
from mlmon.performance import Reference

CLASSES = ["no", "yes"]


@pytest.fixture
def labelled_model(service: str, request: pytest.FixtureRequest) -> str:
    """A model whose baseline records its outputs and its reference performance."""
    rng = np.random.default_rng(0)
    n = 2000
    p = rng.random(n)
    pred = np.where(p >= 0.5, "yes", "no")
    y = np.where(rng.random(n) < p, "yes", "no")
    proba = np.column_stack([1 - p, p])
    base = mlmon.Baseline.fit({"age": rng.normal(40, 9, n)})
    base = base.with_outputs(mlmon.output_columns(pred, proba, CLASSES), categorical=["prediction"])
    base = Reference.of_classifier(y, pred, proba, classes=CLASSES, bins=10).attach(base)
    name = request.node.name.replace("[", "-").replace("]", "")[:100]
    put = httpx.put(f"{service}/v1/models/{name}/versions/v1/baseline", content=base.to_bytes())
    assert put.status_code == 200, put.text
    return name


def _status(service: str, model: str) -> dict:
    return httpx.get(f"{service}/v1/models/{model}/performance").json()


def test_rows_and_batches_carry_request_ids_and_labels_join(service: str, labelled_model: str) -> None:
    with DriftClient(service, labelled_model, flush_interval=0.05) as client:
        client.record(
            {"age": 30.0, "prediction": "yes", "proba_no": 0.2, "proba_yes": 0.8}, request_id="row-1"
        )
        client.record({"age": 31.0, "prediction": "no", "proba_no": 0.9, "proba_yes": 0.1})  # no id
        p = np.array([0.3, 0.7, 0.6])
        cols = {
            "age": np.array([1.0, 2.0, 3.0]),
            "prediction": ["no", "yes", "yes"],
            "proba_no": 1 - p,
            "proba_yes": p,
        }
        client.record_batch(cols, request_ids=["b-0", None, "b-2"])
        assert client.flush(10)
        assert (client.sent, client.rejected) == (5, 0)
        receipt = client.send_labels(["row-1", "b-0", "b-2", "early"], ["yes", "yes", "no", "no"])
    assert (receipt.matched, receipt.pending, receipt.duplicates) == (3, 1, 0)
    perf = _status(service, labelled_model)
    assert perf["total"]["labelled"] == 3
    assert perf["total"]["realized"]["accuracy"] == pytest.approx(1 / 3)
    assert perf["labels"]["waiting"] == 0 and perf["labels"]["pending"] == 1


def test_bad_request_ids_cost_the_batch_not_the_caller(service: str, labelled_model: str) -> None:
    with DriftClient(service, labelled_model) as client:
        client.record_batch({"age": [1.0, 2.0]}, request_ids=["only-one"])
        client.record({"age": 1.0}, request_id=42)  # type: ignore[arg-type]
        assert client.rejected_batches == 2
        with pytest.raises(InputError, match="labels has 1"):
            client.send_labels(["a", "b"], ["yes"])
        with pytest.raises(LabelsRefusedError, match="not a class"):
            client.send_labels(["a"], ["maybe"])


def test_async_client_sends_labels(service: str, labelled_model: str) -> None:
    async def run() -> object:
        async with AsyncDriftClient(service, labelled_model, flush_interval=0.05) as client:
            client.record_batch({"age": [1.0], "prediction": ["no"]}, request_ids=["a-1"])
            assert await client.flush(10)
            return await client.send_labels(np.array(["a-1"]), np.array(["no"]))

    receipt = asyncio.run(run())
    assert receipt.matched == 1  # type: ignore[attr-defined]


def test_an_unreachable_service_is_reported_after_the_retries() -> None:
    client = DriftClient("http://127.0.0.1:9", "m", close_timeout=0.1)
    started = time.monotonic()
    with pytest.raises(LabelsUndeliveredError, match="sending them again is safe"):
        client.send_labels(["a"], ["yes"])
    assert time.monotonic() - started < 30
    client.close()
