"""The label loop end to end on PostgreSQL: the deploy attaches the model's reference performance, the
production API answers request ids and forwards the outputs, labels arrive late through the client
(some before their predictions, some twice, from two senders at once) and the realized accuracy the
service reports equals scikit-learn's on exactly the predictions the API served."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pandas as pd
import pytest
from deploy_helpers import write_config
from sklearn.metrics import accuracy_score

import mlmon
from mlmon.client import DriftClient
from mlmon.demo.stack import Stack, start_stack, wait_rows
from mlmon.demo.traffic import clean_rows, noisy_rows, truth_of
from mlmon.deploy import load_config, run_deploy
from mlmon.deploy.example import TARGET, ExampleFiles
from mlmon.performance import Reference
from mlmon.store import open_store

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

MODEL = "labels-e2e"


@pytest.fixture(scope="module")
def stack(
    e2e_pg_server: Any, tmp_path_factory: pytest.TempPathFactory, e2e_trained: dict[str, ExampleFiles]
) -> Iterator[Stack]:
    url = e2e_pg_server.create_database("mlmon_labels_e2e")
    work = tmp_path_factory.mktemp("labels-stack")
    started = start_stack(work, database_url=url, model=MODEL, webhook_url=None, alert_interval=0.3)
    try:
        services = {"drift_url": started.drift.url, "serving_url": started.serving.url}
        cfg = load_config(
            write_config(work / "deploy.toml", e2e_trained["forest"], name=MODEL, services=services),
            environ={},
        )
        result = run_deploy(cfg, started.secrets(None), stream=io.StringIO())
        assert result.exit_code == 0, result.error
        yield started
    finally:
        started.stop()


def _perf(stack: Stack) -> dict[str, Any]:
    r = httpx.get(f"{stack.drift.url}/v1/models/{MODEL}/performance", headers=stack.read_headers())
    assert r.status_code == 200, r.text
    return r.json()


def test_labels_join_the_served_predictions_exactly_once(
    stack: Stack, e2e_trained: dict[str, ExampleFiles]
) -> None:
    validation = pd.read_parquet(e2e_trained["forest"].validation)
    features, labels = validation.drop(columns=[TARGET]), validation[TARGET]
    with open_store(stack.database_url) as store:
        version = store.production_version(MODEL)
        assert version is not None
        _, data = store.get_baseline(MODEL, version.version)
    reference = Reference.from_baseline(mlmon.Baseline.from_bytes(data))
    assert reference is not None and reference.calibration is not None
    assert reference.metrics().accuracy == pytest.approx(version.metrics["accuracy"], abs=1e-6)

    ids: list[str] = []
    predictions: list[Any] = []
    rows = clean_rows(features, 600, seed=21) + noisy_rows(features, 600, seed=22)
    truth = truth_of(labels, 600, seed=21) + truth_of(labels, 600, seed=22)
    with DriftClient(stack.drift.url, MODEL, token=stack.ingest_token) as feedback:
        early = feedback.send_labels(["not-yet-0", "not-yet-1"], [0, 1])  # before any prediction
        assert early.pending == 2
        with httpx.Client(timeout=30) as client:
            for start in range(0, len(rows), 200):
                r = client.post(f"{stack.serving.url}/predict", json={"rows": rows[start : start + 200]})
                r.raise_for_status()
                ids += r.json()["request_ids"]
                predictions += r.json()["predictions"]
            wait_rows(client, stack, len(rows))
        receipts: list[Any] = []

        def send(order: list[int]) -> None:
            for start in range(0, len(order), 150):
                part = order[start : start + 150]
                receipts.append(feedback.send_labels([ids[i] for i in part], [truth[i] for i in part]))

        # Two senders at once over the same labels (a retrying feedback job next to its first run).
        senders = [threading.Thread(target=send, args=(list(range(len(ids))),)) for _ in range(2)]
        for t in senders:
            t.start()
        for t in senders:
            t.join()
    assert sum(r.matched for r in receipts) == len(ids)
    assert sum(r.duplicates for r in receipts) == len(ids)
    assert sum(r.conflicts for r in receipts) == 0
    perf = _perf(stack)
    total = perf["total"]
    assert total["labelled"] == len(ids)
    assert total["realized"]["accuracy"] == pytest.approx(accuracy_score(truth, predictions), rel=1e-12)
    assert total["estimated"] == len(ids)  # every served row with its probabilities
    assert perf["labels"]["pending"] == 2 and perf["labels"]["waiting"] == 0
    metrics = httpx.get(f"{stack.drift.url}/metrics").text
    assert 'outcome="matched"' in metrics and 'source="realized"' in metrics
