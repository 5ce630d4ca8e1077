"""The ingest entry point the route calls: the four stages in order, each one function.

1. :func:`~mlmon.service.ingest.negotiate.negotiate`: auth, media type, byte budget (headers only);
2. :func:`~mlmon.service.ingest.count.decode_and_count`: envelope, columns, counts;
3. :func:`~mlmon.service.ingest.window.window_of` and ``partial``: the window and the digest;
4. :func:`commit`: the group commit; the answer goes out only once the batch is durable.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Protocol

from mlmon.service.ingest.count import Folded, decode_and_count
from mlmon.service.ingest.decode import batch_key, decode_envelope
from mlmon.service.ingest.negotiate import Format, negotiate
from mlmon.service.ingest.schemas import IngestEnvelope, IngestResponse
from mlmon.service.ingest.window import partial, window_of
from mlmon.store import IngestBatch

if TYPE_CHECKING:
    from mlmon.service.core import ServiceCore
    from mlmon.service.ingest.commit import Outcome

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


async def ingest(core: ServiceCore, model: str, request: IngestRequest) -> IngestResponse:
    """Authorizes, reads, decodes, checks and counts a batch, and returns once it is committed.

    Raises:
        BadRequestError: malformed body (400).
        InputError: unknown column, wrong type or length (422).
        NotFoundError: unknown model or version (404).
        BatchConflictError: the batch id was used for other content (409).
        OverloadedError: the commit queue or byte budget is full (429).
        UnsupportedMediaError: compressed body or other media type (415).
        HTTPException: no or wrong token (401/403), body over the limit (413).
        StoreUnavailableError: the commit failed; retry (503).
    """
    started = time.perf_counter()
    try:
        core.auth.require_model(request.headers.get("authorization"), model)
        terms = negotiate(request.headers, core.settings.max_body_bytes)
        with core.reserve(terms.size):
            envelope = decode_envelope(await request.body(), terms.fmt)
            return await _count(core, model, envelope, terms.fmt, started)
    except Exception as exc:
        core.reject(exc)
        raise


async def _count(
    core: ServiceCore, model: str, envelope: IngestEnvelope, fmt: Format, started: float
) -> IngestResponse:
    key = batch_key(envelope)  # a body without one is malformed: 400 before any work
    version = envelope.version or await core.default_version(model)
    entry = await core.entry(model, version)
    folded = decode_and_count(entry, envelope, fmt, core.settings.max_rows)
    window = window_of(envelope.sent_at, datetime.now(timezone.utc), core.settings.window_seconds)
    digest, part = partial(entry, folded, window, pinned=envelope.sent_at is not None)
    batch = IngestBatch(batch_id=key, digest=digest, partials=[part], producer_id=envelope.producer_id,
                        sequence=envelope.sequence)  # fmt: skip
    status = await commit(core, model, version, batch)
    core.metrics.ingest_duration.observe(time.perf_counter() - started)
    return _answer(envelope, status, model, version, folded, window[0])


async def commit(core: ServiceCore, model: str, version: str, batch: IngestBatch) -> Outcome:
    """The commit stage: queues the batch for the worker's next group commit and waits for it.

    Raises:
        OverloadedError: the commit queue is full (429).
        BatchConflictError: the id was counted before with other content (409).
        StoreUnavailableError: the commit failed or its outcome is unknown (503).
    """
    return await core.committer.submit(model, version, batch)


def _answer(envelope: IngestEnvelope, status: Outcome, model: str, version: str, folded: Folded,
            start: datetime) -> IngestResponse:  # fmt: skip
    return IngestResponse(
        batch_id=envelope.batch_id, status=status, model=model, version=version, rows=folded.rows,
        window_start=start, producer_id=envelope.producer_id, sequence=envelope.sequence,
    )  # fmt: skip
