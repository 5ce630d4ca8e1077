"""The ingest body's wire types: msgspec Structs of the envelope, the column forms and the answer.

Request Structs forbid unknown fields and hold no ``Any``: a typed decode rejects a hostile body at the
first wrong byte (RELIABILITY §2). The column types of an ingest body depend on the model's baseline, so
:func:`columns_type` builds one Struct per baseline; the envelope keeps ``columns`` as ``msgspec.Raw``
until the baseline is known. The engine's msgpack reader (``_engine.IngestReader``) reads the same
column forms; this module is the contract both follow. It imports no web framework.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from mlmon.core.schema import FeatureKind

__all__ = [
    "CodedColumn",
    "IngestEnvelope",
    "IngestResponse",
    "RawCodes",
    "RawNumbers",
    "columns_type",
]

Name = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")]
"""Model, version, feature and batch names: they reach SQL rows, Prometheus labels, HTML and logs."""

Sequence = Annotated[int, msgspec.Meta(ge=0, lt=1 << 62)]
"""A producer's batch number."""

RequestId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
"""A request id: the key by which a row's label comes back (an order id, a uuid)."""

Category = Annotated[str, msgspec.Meta(max_length=1024)] | int
"""A category label: a string, or an integer for features whose baseline categories are integers
(a baseline fitted on ``[0, 1, 2]`` does not match the strings ``"0"``, ``"1"``, ``"2"``)."""


class IngestEnvelope(msgspec.Struct, forbid_unknown_fields=True):
    """An ingest body before its columns are decoded against the model's baseline.

    Exactly-once needs a key: ``producer_id`` + ``sequence`` (what ``DriftClient`` sends; the store
    keeps one small row per producer), or a ``batch_id`` (remembered per batch for a bounded time).

    Attributes:
        columns: ``{feature: values}``, decoded by :func:`columns_type` once the version is known.
        batch_id: The idempotency key of a client without a producer id: a retry with the same id is
            counted once. With a producer id it only names the batch in the answer.
        producer_id: The sending process's id (random, made once per client).
        sequence: The batch's number from that producer (0, 1, 2...; a retry reuses it).
        version: The model version (default: the production version, else the only one with a baseline).
        sent_at: When the rows were seen (default: arrival time); picks the window.
        request_ids: One per row (``null`` for a row nobody will label): the rows whose labels may come
            later; the service keeps the sampled ones (``MLMON_LABEL_SAMPLE``) with the model's outputs.
    """

    columns: msgspec.Raw
    batch_id: Name | None = None
    producer_id: Name | None = None
    sequence: Sequence | None = None
    version: Name | None = None
    sent_at: datetime | None = None
    request_ids: Annotated[list[RequestId | None], msgspec.Meta(max_length=1 << 22)] | None = None


class RawNumbers(msgspec.Struct, forbid_unknown_fields=True):
    """A numerical column as raw little-endian bytes (msgpack bin, or base64 in JSON)."""

    dtype: Literal["<f8", "<f4", "<i8", "<i4"]
    data: memoryview


class RawCodes(msgspec.Struct, forbid_unknown_fields=True):
    """Dictionary codes as raw little-endian integers."""

    dtype: Literal["<i8", "<i4", "<i2", "|i1"]
    data: memoryview


class CodedColumn(msgspec.Struct, forbid_unknown_fields=True):
    """A categorical column as a dictionary and codes into it (negative code = missing)."""

    categories: list[Category | None]
    codes: list[int] | RawCodes


def columns_type(features: Mapping[str, FeatureKind], max_rows: int, max_categories: int) -> type[Any]:
    """The Struct type of the ``columns`` map for a baseline's features.

    Every column is optional (an absent feature counts as missing); an unknown one fails the decode.
    Lengths are capped in the type, so a declared length bomb fails before any allocation.

    Args:
        features: Feature name to kind, from the baseline.
        max_rows: Longest list of values accepted.
        max_categories: Longest dictionary accepted in a coded column.

    Returns:
        A ``msgspec.Struct`` subclass whose encoded field names are the feature names.
    """
    rows = msgspec.Meta(max_length=max_rows)
    numbers = Annotated[list[float | None], rows] | RawNumbers
    labels = Annotated[list[Category | None], rows] | CodedColumn
    fields: list[tuple[str, Any, Any]] = []
    rename: dict[str, str] = {}
    for i, (name, kind) in enumerate(features.items()):
        # Feature names need not be identifiers: fields are c0, c1... renamed to the feature names.
        fields.append((f"c{i}", (numbers if kind == "numerical" else labels) | None, None))
        rename[f"c{i}"] = name
    return msgspec.defstruct("Columns", fields, rename=rename, forbid_unknown_fields=True)


class IngestResponse(msgspec.Struct):
    """The answer to an ingest: the batch is durable when this is sent.

    Attributes:
        batch_id: The batch's id, when it had one.
        status: ``accepted`` (counted now) or ``duplicate`` (counted before).
        model: The model.
        version: The version the rows were counted against.
        rows: Rows in the batch.
        window_start: Start of the window the rows were counted in.
        kept: With ``request_ids``: the rows kept for the label join (sampled, with a known
            prediction); 0 when the version's baseline has no reference performance to count labels
            against.
    """

    batch_id: str | None
    status: Literal["accepted", "duplicate"]
    model: str
    version: str
    rows: int
    window_start: datetime
    producer_id: str | None = None
    sequence: int | None = None
    kept: int | None = None
