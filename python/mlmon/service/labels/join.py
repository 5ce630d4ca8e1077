"""``POST /v1/models/{model}/labels``: true values by request id, joined to the kept predictions exactly
once (:meth:`mlmon.store.Store.join_labels`).

A label batch needs no batch id: the join is idempotent per request id, so a retry after a timeout or
a 503 matches nothing new (its labels come back as ``duplicates``), and a label that arrives before its
prediction waits for it. Labels are checked against the classes of the model's default version (or
the one named) before anything is stored, and again against the version of each matched prediction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Annotated, Protocol

import msgspec

from mlmon.exceptions import InputError
from mlmon.service.baselines import BaselineCache
from mlmon.service.errors import BadRequestError
from mlmon.service.ingest.negotiate import negotiate
from mlmon.service.ingest.outputs import OutputSpec, counter_of, sampled
from mlmon.service.ingest.schemas import Name, RequestId
from mlmon.service.storecalls import bounded
from mlmon.store import LabeledRow, LabelResult, Store

if TYPE_CHECKING:
    from mlmon.service.worker import LabelPath

__all__ = ["LabelsBody", "LabelsResponse", "post_labels", "required_spec"]

_CAP = 1 << 22
# As long as a group commit may take (GroupCommitter's commit_timeout): a hung database is a 503.
_JOIN_TIMEOUT = 5.0
LabelValue = Annotated[str, msgspec.Meta(max_length=1024)] | int | float | bool


class LabelsBody(msgspec.Struct, forbid_unknown_fields=True):
    """A batch of labels: ``request_ids[i]``'s true value is ``labels[i]``.

    Attributes:
        request_ids: The ids the predictions were ingested under.
        labels: The true class (a label of the model's classes) or the true value (regression).
        version: The version whose classes check the labels (default: the model's default version).
    """

    request_ids: Annotated[list[RequestId], msgspec.Meta(max_length=_CAP)]
    labels: Annotated[list[LabelValue], msgspec.Meta(max_length=_CAP)]
    version: Name | None = None


class LabelsResponse(msgspec.Struct):
    """What a label batch did (each count is of request ids).

    Attributes:
        matched: Joined to their prediction now, and counted in its window's performance.
        duplicates: Joined or waiting before with the same label (a retry): not counted again.
        conflicts: Joined or waiting before with another label: the first one counts.
        pending: No prediction kept yet: waiting for it (``RetentionPolicy.pending_labels_for``
            bounds the wait).
        not_sampled: Outside the label sample (``MLMON_LABEL_SAMPLE``): not kept.
    """

    model: str
    rows: int
    matched: int
    duplicates: int
    conflicts: int
    pending: int
    not_sampled: int


class LabelsRequest(Protocol):
    """What :func:`post_labels` needs of a request (a Litestar ``Request`` is one)."""

    @property
    def headers(self) -> Mapping[str, str]:
        """The request headers."""
        ...

    def body(self) -> Awaitable[bytes]:
        """Reads the body (Litestar enforces the size limit: 413)."""
        ...


_JSON = msgspec.json.Decoder(LabelsBody)
_MSGPACK = msgspec.msgpack.Decoder(LabelsBody)


def _decode(body: bytes, fmt: str, max_rows: int) -> LabelsBody:
    try:
        labels = (_JSON if fmt == "json" else _MSGPACK).decode(body)
    except msgspec.ValidationError as exc:
        raise InputError(f"labels: {exc}") from exc
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:
        raise BadRequestError(f"malformed {fmt} body: {exc}") from exc
    n = len(labels.request_ids)
    if n != len(labels.labels):
        raise InputError(f"request_ids has {n} values, labels has {len(labels.labels)}")
    if n == 0:
        raise InputError("the batch has no labels")
    if n > max_rows:
        raise InputError(f"the batch has {n} labels, more than the limit of {max_rows}")
    return labels


async def required_spec(baselines: BaselineCache, model: str, version: str) -> OutputSpec:
    """The output spec of a version.

    Raises:
        InputError: the version has no reference performance (422).
    """
    entry = await baselines.entry(model, version)
    if entry.outputs is None:
        raise InputError(
            f"model {model!r} version {version!r} has no reference performance: its baseline was "
            "uploaded without one (the deploy step attaches it; see mlmon.performance.Reference)"
        )
    return entry.outputs


async def post_labels(path: LabelPath, model: str, request: LabelsRequest) -> LabelsResponse:
    """Reads, checks and joins a label batch; answers once the join is committed.

    Raises:
        BadRequestError: malformed body (400).
        InputError: unequal lengths, no labels, too many, a label that is not a class (422).
        NotFoundError: unknown model or version, no baseline (404).
        OverloadedError: the worker's in-flight byte budget is spent (429).
        StoreUnavailableError: the join failed or timed out: retry (503; retries are duplicates).
    """
    terms = negotiate(request.headers, path.settings.max_body_bytes)
    with path.budget.reserve(terms.size):
        return await _labels(path, model, await request.body(), terms.fmt)


async def _labels(path: LabelPath, model: str, raw: bytes, fmt: str) -> LabelsResponse:
    store, baselines, settings = path.store, path.baselines, path.settings
    body = _decode(raw, fmt, settings.max_rows)
    version = body.version or await baselines.default_version(model)
    spec = await required_spec(baselines, model, version)
    rows, skipped = [], 0
    for rid, value in zip(body.request_ids, body.labels, strict=True):
        label = spec.label(value, rid)  # every label is checked, sampled or not
        if sampled(rid, settings.label_sample):
            rows.append(LabeledRow(rid, label))
        else:
            skipped += 1
    specs = {version: spec}
    if rows:
        for v in await bounded(store.label_versions, model, [r.request_id for r in rows]):
            specs[v] = specs.get(v) or await required_spec(baselines, model, v)
    result = await _join(store, model, rows, specs, path.writer_id) if rows else None
    answer = LabelsResponse(
        model=model,
        rows=len(body.request_ids),
        matched=result.matched if result else 0,
        duplicates=result.duplicates if result else 0,
        conflicts=result.conflicts if result else 0,
        pending=result.pending if result else 0,
        not_sampled=skipped,
    )
    for outcome in ("matched", "duplicates", "conflicts", "pending", "not_sampled"):
        if getattr(answer, outcome):
            path.metrics.labels.labels(model, outcome).inc(getattr(answer, outcome))
    return answer


async def _join(
    store: Store,
    model: str,
    rows: list[LabeledRow],
    specs: dict[str, OutputSpec],
    writer_id: str,
) -> LabelResult:
    # A hung database is a 503 after the group commit's own deadline; a retry is safe (duplicates).
    return await bounded(store.join_labels, model, rows, counter_of(specs), writer_id, timeout=_JOIN_TIMEOUT)
