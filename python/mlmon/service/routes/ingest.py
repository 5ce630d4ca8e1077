"""``POST /v1/models/{model}/ingest``: a columnar batch in, a durable count out."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post

from mlmon.service.deps import worker_of
from mlmon.service.ingest import IngestRequest, ingest
from mlmon.service.ingest.rejects import COUNT_REJECTS
from mlmon.service.ingest.schemas import IngestResponse
from mlmon.service.worker import Worker

__all__ = ["INGEST_ROUTE", "IngestController", "accept"]

INGEST_ROUTE = "ingest"
"""The ingest handler's route name (how :class:`~mlmon.service.routes.ingest_asgi.IngestEndpoint`
finds the declaration it serves)."""


async def accept(worker: Worker, model: str, request: IngestRequest) -> IngestResponse:
    """An ingest request's whole handling, whichever way it was routed: the model's own token or the
    admin token (before the body is read), then the write path.

    Raises:
        NotAuthorizedException: no or unknown token (401).
        PermissionDeniedException: another model's token (403).
    """
    worker.auth.require_model(request.headers.get("authorization"), model)
    return await ingest(worker.write_path, model, request)


class IngestController(Controller):
    """Batch ingestion: the model's own token or the admin token (checked first, before the body is
    read: :func:`accept`); every refusal is counted."""

    path = "/v1/models/{model:str}"
    tags = ("ingest",)

    @post(
        "/ingest", operation_id="IngestBatch", name=INGEST_ROUTE, status_code=200, opt={COUNT_REJECTS: True}
    )
    async def ingest(self, request: Request[Any, Any, Any]) -> IngestResponse:
        """Counts a batch of feature values exactly once; answers after the counts are committed.

        The body is ``{producer_id + sequence | batch_id, version?, sent_at?, columns: {feature: values}}`` as
        ``application/msgpack`` or ``application/json``. Numerical values are a list of numbers (null =
        missing) or ``{dtype: "<f8"|"<f4"|"<i8"|"<i4", data: <bytes>}`` (msgpack bin, base64 in JSON);
        categorical values a list of strings or ``{categories: [...], codes: [...] | {dtype, data}}``.
        A retry (same ``producer_id`` and ``sequence``, or same ``batch_id`` and content) is acknowledged
        as ``duplicate`` and counted once; a sequence outside the producer's 64-batch window is a 409.

        Args:
            request: The request (its body is read here, within the size limit).

        Returns:
            What was counted.
        """
        # The canonical path never gets here (mlmon.service.routes.ingest_asgi serves it); its variants
        # do. The model comes from the path, not as an injected argument: Litestar's parameter and
        # dependency resolution was a fifth of its cost per request.
        return await accept(worker_of(request.app.state), request.path_params["model"], request)
