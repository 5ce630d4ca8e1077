"""The model's quality: ``POST /v1/models/{model}/labels`` (true values by request id, joined exactly
once) and ``GET /v1/models/{model}/performance`` (realized and estimated, per window and over a range)."""

from __future__ import annotations

import functools
from typing import Any

import anyio.to_thread
import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from mlmon.service.baselines import BaselineCache
from mlmon.service.deps import InjectedStore
from mlmon.service.guards import model_reader, require_writer
from mlmon.service.ingest.rejects import COUNT_REJECTS
from mlmon.service.labels import LabelsResponse, post_labels, read_performance
from mlmon.service.labels.join import required_spec
from mlmon.service.reports import Reports
from mlmon.service.routes.reports import parse_range
from mlmon.service.worker import LabelPath

__all__ = ["LabelsController", "PerformanceController"]


class LabelsController(Controller):
    """Label ingestion: the model's own token or the admin token (checked first, before the body is
    read: :func:`~mlmon.service.guards.require_writer`)."""

    path = "/v1/models/{model:str}"
    tags = ("performance",)

    @post("/labels", operation_id="PostLabels", status_code=200, opt={COUNT_REJECTS: True})
    async def labels(
        self, request: Request[Any, Any, Any], model: FromPath[str], label_path: NamedDependency[LabelPath]
    ) -> LabelsResponse:
        """Joins true values to the predictions ingested under the same request ids, exactly once.

        The body is ``{request_ids: [...], labels: [...], version?}`` as ``application/msgpack`` or
        ``application/json``: a class of the model (classifiers) or a number (regression) per id. A
        label may come before its prediction (it waits) or be sent again (a duplicate, counted once).

        Args:
            request: The request (its body is read here, within the size limit).
            model: The model name.
            label_path: The worker's label path (store, baselines, settings, metrics).

        Returns:
            What the join did, per request id.
        """
        require_writer(request, model)
        return await post_labels(label_path, model, request)


class PerformanceController(Controller):
    """Performance reads (open with ``public_read``, else the model's token or admin)."""

    path = "/v1/models/{model:str}"
    tags = ("performance",)
    guards = (model_reader,)

    @get("/performance", operation_id="GetPerformance", media_type=MediaType.JSON)
    async def performance(
        self,
        model: FromPath[str],
        store: NamedDependency[InjectedStore],
        reports: NamedDependency[Reports],
        baselines: NamedDependency[BaselineCache],
        window: FromQuery[str] = "current",
        version: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        """Realized and estimated performance per window of the range, the range's total, the
        reference from the deploy's validation set, and the label join's counts.

        Args:
            model: The model.
            store: The store.
            reports: The window clock.
            baselines: The baseline cache.
            window: ``current`` (default), ``previous`` or ``<start>/<end>`` in ISO 8601.
            version: The version (default: production, else the only one with a baseline).

        Returns:
            A ``PerformanceResponse`` as JSON.
        """
        span = parse_range(window, reports.current_window(), reports.window_seconds)
        version = version or await baselines.default_version(model)
        spec = await required_spec(baselines, model, version)
        read = functools.partial(read_performance, store, spec, model, version, span)
        body = await anyio.to_thread.run_sync(read)
        return Response(msgspec.json.encode(body), media_type=MediaType.JSON)
