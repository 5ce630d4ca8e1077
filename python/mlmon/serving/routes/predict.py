"""``POST /predict``: scores a batch with the live model (its scored features go on to the drift
service through the live model's drift client)."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency

from mlmon.serving.metrics import ServingMetrics
from mlmon.serving.models import ModelHolder
from mlmon.serving.predict import PredictResponse, decode, request_ids_of, score, to_columns
from mlmon.serving.settings import ServingSettings

__all__ = ["PredictController"]


class PredictController(Controller):
    """Scoring."""

    tags = ("predict",)

    @post("/predict", operation_id="Predict", status_code=200)
    async def predict(
        self,
        request: Request[Any, Any, Any],
        holder: NamedDependency[ModelHolder],
        settings: NamedDependency[ServingSettings],
        metrics: NamedDependency[ServingMetrics],
    ) -> PredictResponse:
        """Scores ``{"rows": [...]}`` or ``{"columns": {...}}`` (JSON or msgpack) with the live model;
        ``request_ids`` (one per row, optional) name the rows for their labels, else the answer
        carries fresh ones.

        422 names a missing, unknown or unusable feature; 503 while no model is loaded.

        Args:
            request: The request (its body is read here, within ``max_predict_bytes``).
            holder: The live model's holder.
            settings: The API's settings (the rows limit).
            metrics: Where rows and latency are counted.

        Returns:
            The predictions.
        """
        live = holder.current()  # read once: a swap during this request does not affect it
        req = decode(await request.body(), request.headers.get("content-type"))
        cols = to_columns(req, live.features, settings.max_rows)
        ids = request_ids_of(req, len(cols[live.features[0]]))
        with metrics.latency.time():
            out = await asyncio.to_thread(score, live, cols, ids)
        metrics.rows.labels(live.name, live.version).inc(len(out.predictions))
        return out
