"""The ingest path: a request body becomes window counts, checked and folded without per-row Python.

Decoding is typed end to end: the envelope first (``columns`` kept raw), then the columns against a
Struct built from the model's baseline, so an unknown column or a wrong value type fails inside msgspec
and names the column. Values go to NumPy without copies where the wire allows (``np.frombuffer`` over
msgpack bin) and into fresh engine profiles, one per feature. Nothing here touches the store; the
:mod:`mlmon.service.commit` queue makes the result durable.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import msgspec
import numpy as np
import numpy.typing as npt

from mlmon import _engine
from mlmon.baseline import Baseline
from mlmon.exceptions import DtypeError, InputError
from mlmon.service.errors import BadRequestError, UnsupportedMediaError
from mlmon.service.schemas import CodedColumn, IngestEnvelope, RawCodes, RawNumbers, columns_type
from mlmon.service.unique_keys import duplicate_columns
from mlmon.store import PartialWindow
from mlmon.store.names import validate_name
from mlmon.windows import WindowState

__all__ = [
    "BaselineEntry",
    "Folded",
    "Format",
    "batch_key",
    "check_feature_names",
    "decode_envelope",
    "fold",
    "media_format",
    "window_of",
]

Format = Literal["json", "msgpack"]
_MSGPACK = {"application/msgpack", "application/x-msgpack", "application/vnd.msgpack"}
_JSON_ENVELOPE = msgspec.json.Decoder(IngestEnvelope)
_MSGPACK_ENVELOPE = msgspec.msgpack.Decoder(IngestEnvelope)
_FUTURE_SLACK = timedelta(days=1)


def media_format(content_type: str | None, content_encoding: str | None) -> Format:
    """The body format from the request headers.

    Raises:
        UnsupportedMediaError: a ``Content-Encoding`` (compressed bodies are refused: no decompression
            bombs) or a media type other than JSON or msgpack.
    """
    if content_encoding and content_encoding.strip().lower() != "identity":
        raise UnsupportedMediaError(f"Content-Encoding {content_encoding!r} is not accepted; send it plain")
    media = (content_type or "application/json").split(";", 1)[0].strip().lower()
    if media in _MSGPACK:
        return "msgpack"
    if media == "application/json":
        return "json"
    raise UnsupportedMediaError(
        f"unsupported media type {media!r}: use application/msgpack or application/json"
    )


def decode_envelope(body: bytes, fmt: Format) -> IngestEnvelope:
    """Decodes the envelope; the columns stay raw.

    Raises:
        BadRequestError: malformed or mistyped body, or nested too deeply.
    """
    try:
        if fmt == "json":
            return _JSON_ENVELOPE.decode(body)
        return _MSGPACK_ENVELOPE.decode(body)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:
        # msgspec raises UnicodeDecodeError (not DecodeError) for a string that is not UTF-8.
        detail = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise BadRequestError(f"malformed {fmt} body: {detail}") from exc


@dataclass(frozen=True)
class BaselineEntry:
    """A model version's baseline with the decoders of its columns (built once per version)."""

    model: str
    version: str
    sha256: str
    baseline: Baseline
    json: msgspec.json.Decoder[Any]
    msgpack: msgspec.msgpack.Decoder[Any]
    names: tuple[str, ...]
    int_labels: frozenset[str] = frozenset()
    """Categorical features whose baseline categories are integers: labels are read as integers."""
    max_categories: int = 100_000
    """Distinct labels a batch may bring per categorical column (``MLMON_MAX_CATEGORIES``)."""

    @classmethod
    def build(
        cls, model: str, version: str, sha256: str, data: bytes, max_rows: int, max_categories: int
    ) -> BaselineEntry:
        """Reads baseline bytes and builds the column decoders for its features.

        Raises:
            CodecError: the bytes are not a baseline.
            InputError: a feature name is not a valid name (a baseline stored before names were
                checked at upload): a 422 for this model only.
        """
        baseline = Baseline.from_bytes(data)
        check_feature_names(baseline)
        kinds = {name: spec.kind for name, spec in baseline.features.items()}
        cols = columns_type(kinds, max_rows, max_categories)
        return cls(
            model=model, version=version, sha256=sha256, baseline=baseline,
            json=msgspec.json.Decoder(cols), msgpack=msgspec.msgpack.Decoder(cols), names=tuple(kinds),
            int_labels=_int_label_features(baseline), max_categories=max_categories,
        )  # fmt: skip

    def decode_columns(self, raw: msgspec.Raw, fmt: Format) -> list[Any]:
        """The columns in baseline feature order (``None`` for an absent one).

        Raises:
            InputError: an unknown column or a value of the wrong type, named with its path (422).
        """
        try:
            cols = (self.json if fmt == "json" else self.msgpack).decode(raw)
        except msgspec.ValidationError as exc:
            raise InputError(f"columns: {exc}") from exc
        except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:
            raise BadRequestError(f"malformed columns: {exc}") from exc
        repeated = duplicate_columns(raw, fmt)
        if repeated is not None:
            raise InputError(repeated)
        return [getattr(cols, f"c{i}") for i in range(len(self.names))]


def check_feature_names(baseline: Baseline) -> None:
    """Refuses a baseline with a feature name outside the store's name rule (letters, digits,
    ``_ . : -``): such a name cannot be a column of the ingest body's typed decoder, a stored drift
    result or a metric label.

    Raises:
        InputError: naming the first bad feature.
    """
    for name in baseline.features:
        validate_name(name, "feature")


def _int_label_features(baseline: Baseline) -> frozenset[str]:
    names = []
    for name, prof in baseline.profiles.items():
        cats = getattr(prof, "categories", None)
        if cats and all(type(c) is int for c in cats):
            names.append(name)
    return frozenset(names)


def _int_or_str(label: str) -> int | str:
    # Only the canonical spelling converts ("7", "-7"; not "07", "+7", "7_0", "٧"), so no two
    # distinct strings land on the same integer.
    try:
        value = int(label)
    except ValueError:
        return label
    return value if str(value) == label else label


def in_domain(labels: list[Any], ints: bool) -> list[Any]:
    """Labels in the baseline's domain: integer strings become integers for a feature fitted on
    integers, integers become strings for one fitted on strings. A batch already in the domain is
    returned as is (the usual case costs one pass over the types in C)."""
    types = set(map(type, labels))
    if ints:
        return [_int_or_str(v) if type(v) is str else v for v in labels] if str in types else labels
    return [str(v) if type(v) is int else v for v in labels] if int in types else labels


@dataclass(frozen=True)
class Folded:
    """One batch's counts: the encoded profile of its rows and how many rows."""

    profile: bytes
    rows: int


def _numbers(name: str, col: list[float | None] | RawNumbers) -> npt.NDArray[Any]:
    if isinstance(col, RawNumbers):
        itemsize = np.dtype(col.dtype).itemsize
        if len(col.data) % itemsize:
            raise InputError(
                f"column {name!r}: {len(col.data)} bytes is not a multiple of {itemsize} ({col.dtype})"
            )
        return np.frombuffer(col.data, dtype=col.dtype)
    # numpy turns None into NaN (= missing) in C; no per-row Python.
    return np.array(col, dtype=np.float64)


def _codes(name: str, col: CodedColumn) -> npt.NDArray[Any]:
    if isinstance(col.codes, RawCodes):
        itemsize = np.dtype(col.codes.dtype).itemsize
        if len(col.codes.data) % itemsize:
            raise InputError(
                f"column {name!r}: codes of {len(col.codes.data)} bytes are not {col.codes.dtype}"
            )
        return np.frombuffer(col.codes.data, dtype=col.codes.dtype)
    try:
        return np.array(col.codes, dtype=np.int64)
    except OverflowError as exc:
        raise InputError(f"column {name!r}: a code does not fit in 64 bits") from exc


def _length(name: str, col: Any) -> int:
    if isinstance(col, RawNumbers):
        return len(col.data) // np.dtype(col.dtype).itemsize
    if isinstance(col, CodedColumn):
        codes = col.codes
        return (
            len(codes.data) // np.dtype(codes.dtype).itemsize if isinstance(codes, RawCodes) else len(codes)
        )
    return len(col)


def _row_count(entry: BaselineEntry, columns: list[Any], max_rows: int) -> int:
    lengths = {
        name: _length(name, col) for name, col in zip(entry.names, columns, strict=True) if col is not None
    }
    if not lengths:
        raise InputError("columns: the batch has none of the model's features")
    rows = next(iter(lengths.values()))
    for name, n in lengths.items():
        if n != rows:
            raise InputError(f"column {name!r} has {n} rows, other columns have {rows}")
    if rows == 0:
        raise InputError("the batch has no rows")
    if rows > max_rows:
        raise InputError(f"the batch has {rows} rows, more than the limit of {max_rows}")
    return rows


def _check_categories(entry: BaselineEntry, columns: list[Any]) -> None:
    """Refuses a batch with more distinct labels in a categorical column than ``max_categories``,
    before any per-category state exists: a dictionary longer than the limit (coded columns; their
    codes, list or binary, index into it), or a plain list of more distinct values. Only a list longer
    than the limit is counted (a set of references, built in C and dropped at once)."""
    limit = entry.max_categories
    for name, col in zip(entry.names, columns, strict=True):
        if col is None or isinstance(col, RawNumbers) or entry.baseline.features[name].kind != "categorical":
            continue
        labels = col.categories if isinstance(col, CodedColumn) else col
        if len(labels) <= limit:
            continue
        distinct = len(labels) if isinstance(col, CodedColumn) else len(set(labels) - {None})
        if distinct > limit:
            what = "a dictionary of " if isinstance(col, CodedColumn) else ""
            raise InputError(
                f"column {name!r}: {what}{distinct:,} distinct categories, more than the limit of "
                f"{limit:,} per batch (MLMON_MAX_CATEGORIES)"
            )


def fold(entry: BaselineEntry, columns: list[Any], max_rows: int) -> Folded:
    """Counts a decoded batch into fresh profiles aligned to the baseline.

    An absent feature counts as ``rows`` missing values, so every feature's total equals the row count.
    ±inf land in the outer bins and count as out of range; NaN and null are missing.

    Raises:
        InputError: unequal column lengths, odd byte counts, codes out of range, too many rows, more
            distinct categories in a column than ``entry.max_categories`` (422, naming the column).
    """
    rows = _row_count(entry, columns, max_rows)
    _check_categories(entry, columns)
    profiles = WindowState(entry.baseline).profiles
    for name, col in zip(entry.names, columns, strict=True):
        prof = profiles[name]
        try:
            if isinstance(prof, _engine.NumericHistogram):
                prof.update(np.full(rows, np.nan) if col is None else _numbers(name, col))
            elif col is None:
                prof.update_codes(np.full(rows, -1, dtype=np.int32), [])
            elif isinstance(col, CodedColumn):
                prof.update_codes(_codes(name, col), in_domain(col.categories, name in entry.int_labels))
            else:
                prof.update(np.array(in_domain(col, name in entry.int_labels), dtype=object))
        except (InputError, DtypeError) as exc:
            raise InputError(f"column {name!r}: {exc}") from exc
    return Folded(_engine.encode_profile(list(profiles.items())), rows)


def batch_key(envelope: IngestEnvelope) -> str:
    """The key exactly-once rests on: ``producer_id:sequence``, else the ``batch_id``.

    Raises:
        BadRequestError: neither key, or a producer id without a sequence (or the reverse): 400, as
            for any other malformed envelope.
    """
    if envelope.producer_id is not None and envelope.sequence is not None:
        return f"{envelope.producer_id}:{envelope.sequence}"
    if envelope.producer_id is not None or envelope.sequence is not None:
        raise BadRequestError("malformed body: producer_id and sequence go together (or send a batch_id)")
    if envelope.batch_id is None:
        raise BadRequestError("malformed body: a batch needs a key: producer_id and sequence, or a batch_id")
    return envelope.batch_id


def window_of(sent_at: datetime | None, now: datetime, seconds: int) -> tuple[datetime, datetime]:
    """The tumbling window ``[start, end)`` that ``sent_at`` (else ``now``) falls in.

    Raises:
        InputError: ``sent_at`` more than a day in the future (a clock error, not data).
    """
    when = now if sent_at is None else sent_at
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    if when > now + _FUTURE_SLACK:
        raise InputError(f"sent_at {when.isoformat()} is more than a day in the future")
    key = int(when.timestamp() // seconds)
    start = datetime.fromtimestamp(key * seconds, timezone.utc)
    return start, start + timedelta(seconds=seconds)


def partial(
    entry: BaselineEntry, folded: Folded, window: tuple[datetime, datetime], pinned: bool = True
) -> tuple[str, PartialWindow]:
    """The batch's partial and its digest: same version, window and counts give the same digest, so a
    retry in another encoding is still a duplicate, while a different batch under a reused id is not.

    ``pinned`` says the sender chose the window (``sent_at``). Without it the window is the arrival's
    and stays out of the digest: a retry that arrives after the window turned (after an ambiguous
    commit's 503, say) is the same batch, a duplicate, not a 409."""
    start, end = window
    when = start.isoformat() if pinned else "arrival"
    digest = hashlib.sha256(
        f"{entry.version}\0{entry.sha256}\0{when}\0".encode() + folded.profile
    ).hexdigest()
    return digest, PartialWindow(window_start=start, window_end=end, profile=folded.profile, rows=folded.rows)
