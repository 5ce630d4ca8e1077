"""The inputs of the outputs-and-labels figures: a classifier's baseline (25 numerical features, its
``prediction`` and ``proba_0``/``proba_1`` outputs, and its reference performance, as the deploy step
attaches it), batches of its traffic, and their msgpack bodies as ``DriftClient`` sends them. Shared by
``mlmon bench``'s labels step and the wrk load benchmark."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import numpy as np
import numpy.typing as npt

from mlmon.client._columns import REQUEST_IDS, columns_of_frame, encode_body, request_id_column
from mlmon.core.baseline import Baseline
from mlmon.core.outputs import output_columns
from mlmon.performance import Reference

__all__ = [
    "CLASSES",
    "FEATURES",
    "ROWS",
    "batch_columns",
    "client_body",
    "labelled_baseline",
    "labels_of",
    "plain_baseline",
]

FEATURES = 25
ROWS = 1000
#: String classes, so the client sends the predictions as labels (an integer prediction column is sent
#: as numbers unless declared categorical) and the probability columns are ``proba_0`` and ``proba_1``.
CLASSES = ("0", "1")
_SENT_AT = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _features(rng: np.random.Generator, rows: int, features: int) -> dict[str, npt.NDArray[np.float64]]:
    return {f"f{f}": rng.normal(0, 1, rows) for f in range(features)}


def _scored(rng: np.random.Generator, rows: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[Any]]:
    """The model's probability of class ``1`` per row and its prediction."""
    p = rng.beta(2, 2, rows)
    return p, np.where(p >= 0.5, CLASSES[1], CLASSES[0]).astype(object)


def plain_baseline(features: int = FEATURES, seed: int = 0) -> Baseline:
    """The features' baseline alone (5,000 rows): a model without outputs."""
    return Baseline.fit(_features(np.random.default_rng(seed), 5000, features))


def labelled_baseline(features: int = FEATURES, seed: int = 0) -> Baseline:
    """The features, the model's outputs and its reference performance, on 5,000 validation rows."""
    rng = np.random.default_rng(seed)
    base = Baseline.fit(_features(rng, 5000, features))
    p, pred = _scored(rng, 5000)
    proba = np.column_stack([1 - p, p])
    y = np.where(rng.random(5000) < p, CLASSES[1], CLASSES[0])
    with_outputs = base.with_outputs(output_columns(pred, proba, list(CLASSES)), categorical=["prediction"])
    reference = Reference.of_classifier(y, pred, proba, classes=list(CLASSES), bins=20)
    return reference.attach(with_outputs)


def batch_columns(seed: int, rows: int = ROWS, features: int = FEATURES) -> dict[str, Any]:
    """One scored batch: the features, ``prediction`` (labels) and ``proba_0``/``proba_1``."""
    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = dict(_features(rng, rows, features))
    p, pred = _scored(rng, rows)
    cols.update(output_columns(pred, np.column_stack([1 - p, p]), list(CLASSES)))
    return cols


def client_body(cols: dict[str, Any], request_ids: list[str] | None, sequence: int = 0) -> bytes:
    """The msgpack body ``DriftClient.record_batch(cols, request_ids=...)`` sends (numerical columns as
    float64 bytes, the prediction as a list of labels), producer ``bench``."""
    columns, rows = columns_of_frame(cols, {})
    if request_ids is not None:
        columns[REQUEST_IDS] = request_id_column(request_ids, rows)
    return encode_body("bench", sequence, "v1", _SENT_AT, columns)


def labels_of(seed: int, rows: int = ROWS) -> list[str]:
    """True labels of a batch's rows (drawn from its probabilities)."""
    p, _ = _scored(np.random.default_rng(seed), rows)
    out: list[str] = np.where(
        np.random.default_rng(seed + 1).random(rows) < p, CLASSES[1], CLASSES[0]
    ).tolist()
    return out
