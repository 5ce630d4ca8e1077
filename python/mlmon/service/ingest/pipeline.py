"""The ingest entry point the route calls: the four stages in order, each one function.

1. :func:`~mlmon.service.ingest.negotiate.negotiate`: media type, byte budget (headers only; the
   route's guard checked the token before);
2. :func:`~mlmon.service.ingest.count.decode_and_count`: envelope, columns, counts;
3. :func:`~mlmon.service.ingest.window.window_of` and ``partial``: the window and the digest;
4. :func:`commit`: the group commit; the answer goes out only once the batch is durable.

The worker's parts it uses come in as a :class:`mlmon.service.worker.WritePath` (an app dependency).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Protocol

import msgspec

from mlmon.exceptions import InputError
from mlmon.service.ingest.commit import GroupCommitter, Outcome
from mlmon.service.ingest.count import Folded, decode_and_count
from mlmon.service.ingest.decode import batch_key, decode_envelope
from mlmon.service.ingest.negotiate import Format, negotiate
from mlmon.service.ingest.outputs import counter_of
from mlmon.service.ingest.schemas import IngestEnvelope, IngestResponse
from mlmon.service.ingest.window import partial, window_of
from mlmon.store import IngestBatch, LabelCounter, Prediction

if TYPE_CHECKING:
    from mlmon.service.worker import WritePath

__all__ = ["IngestRequest", "commit", "ingest"]


class IngestRequest(Protocol):
    """What :func:`ingest` needs of a request (a Litestar ``Request`` is one)."""

    @property
    def headers(self) -> Mapping[str, str]:
        """The request headers (case-insensitive)."""
        ...

    def body(self) -> Awaitable[bytes]:
        """Reads the body (Litestar enforces the size limit: 413)."""
        ...


async def ingest(path: WritePath, model: str, request: IngestRequest) -> IngestResponse:
    """Reads, decodes, checks and counts a batch, and returns once it is committed.

    Raises:
        BadRequestError: malformed body (400).
        InputError: unknown column, wrong type or length (422).
        NotFoundError: unknown model or version (404).
        BatchConflictError: the batch id was used for other content (409).
        OverloadedError: the commit queue or byte budget is full (429).
        UnsupportedMediaError: compressed body or other media type (415).
        HTTPException: body over the limit (413).
        StoreUnavailableError: the commit failed; retry (503).
    """
    started = time.perf_counter()
    terms = negotiate(request.headers, path.settings.max_body_bytes)
    with path.budget.reserve(terms.size):
        envelope = decode_envelope(await request.body(), terms.fmt)
        return await _count(path, model, envelope, terms.fmt, started)


async def _count(
    path: WritePath, model: str, envelope: IngestEnvelope, fmt: Format, started: float
) -> IngestResponse:
    key = batch_key(envelope)  # a body without one is malformed: 400 before any work
    version = envelope.version or await path.baselines.default_version(model)
    entry = await path.baselines.entry(model, version)
    folded = decode_and_count(entry, envelope, fmt, path.settings.max_rows)
    window = window_of(envelope.sent_at, datetime.now(timezone.utc), path.settings.window_seconds)
    digest, part = partial(entry, folded, window, pinned=envelope.sent_at is not None)
    predictions: list[Prediction] = []
    counter: LabelCounter | None = None
    if entry.outputs is not None:
        predictions, estimate = entry.outputs.extract(
            envelope.columns, fmt, folded.rows, envelope.request_ids, path.settings.label_sample
        )
        part = msgspec.structs.replace(part, estimate=estimate)
        counter = counter_of({version: entry.outputs})
    elif envelope.request_ids is not None and len(envelope.request_ids) != folded.rows:
        raise InputError(
            f"request_ids has {len(envelope.request_ids)} values, the batch has {folded.rows} rows"
        )
    batch = IngestBatch(
        batch_id=key,
        digest=digest,
        partials=[part],
        producer_id=envelope.producer_id,
        sequence=envelope.sequence,
        predictions=predictions,
    )
    status = await commit(path.committer, model, version, batch, counter)
    path.metrics.ingest_duration.observe(time.perf_counter() - started)
    kept = None if envelope.request_ids is None else len(predictions)
    return _answer(envelope, status, model, version, folded, window[0], kept)


async def commit(
    committer: GroupCommitter,
    model: str,
    version: str,
    batch: IngestBatch,
    counter: LabelCounter | None = None,
) -> Outcome:
    """The commit stage: queues the batch for the worker's next group commit and waits for it
    (``counter`` counts the labels that waited for the batch's predictions).

    Raises:
        OverloadedError: the commit queue is full (429).
        BatchConflictError: the id was counted before with other content (409).
        StoreUnavailableError: the commit failed or its outcome is unknown (503).
    """
    return await committer.submit(model, version, batch, counter)


def _answer(
    envelope: IngestEnvelope,
    status: Outcome,
    model: str,
    version: str,
    folded: Folded,
    start: datetime,
    kept: int | None,
) -> IngestResponse:
    return IngestResponse(
        batch_id=envelope.batch_id,
        status=status,
        model=model,
        version=version,
        rows=folded.rows,
        window_start=start,
        producer_id=envelope.producer_id,
        sequence=envelope.sequence,
        kept=kept,
    )
