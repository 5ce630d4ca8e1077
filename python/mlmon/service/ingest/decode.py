"""Stage 2a of ingest: the body's envelope and, per model version, the decoders of its columns.

Decoding is typed end to end: the envelope first (``columns`` kept raw), then the columns against a
Struct built from the model's baseline, so an unknown column or a wrong value type fails inside msgspec
and names the column. :class:`BaselineEntry` is built once per model version and cached by
:class:`mlmon.service.baselines.BaselineCache`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from mlmon.core import _native as _engine
from mlmon.core.baseline import Baseline
from mlmon.core.windows import WindowState
from mlmon.exceptions import InputError
from mlmon.service.errors import BadRequestError
from mlmon.service.ingest.negotiate import Format
from mlmon.service.ingest.outputs import OutputSpec
from mlmon.service.ingest.schemas import IngestEnvelope, columns_type
from mlmon.service.ingest.unique_keys import duplicate_columns
from mlmon.store.names import validate_name

__all__ = ["BaselineEntry", "batch_key", "check_feature_names", "decode_envelope"]

_JSON_ENVELOPE = msgspec.json.Decoder(IngestEnvelope)
_MSGPACK_ENVELOPE = msgspec.msgpack.Decoder(IngestEnvelope)


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


def check_feature_names(baseline: Baseline) -> None:
    """Refuses a baseline with a feature name outside the store's name rule (letters, digits,
    ``_ . : -``): such a name cannot be a column of the ingest body's typed decoder, a stored drift
    result or a metric label.

    Raises:
        InputError: naming the first bad feature.
    """
    for name in baseline.features:
        validate_name(name, "feature")


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
    reader: _engine.IngestReader
    """The engine's msgpack reader of this version's columns (read and counted without Python)."""
    max_categories: int = 100_000
    """Distinct labels a batch may bring per categorical column (``MLMON_MAX_CATEGORIES``)."""
    outputs: OutputSpec | None = None
    """The version's output columns and reference performance (``None``: the baseline has none)."""

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
        empty = _engine.encode_profile(list(WindowState(baseline).profiles.items()))
        reader = _engine.IngestReader(empty, sorted(baseline.int_label_features), max_rows, max_categories)
        return cls(
            model=model,
            version=version,
            sha256=sha256,
            baseline=baseline,
            json=msgspec.json.Decoder(cols),
            msgpack=msgspec.msgpack.Decoder(cols),
            names=tuple(kinds),
            reader=reader,
            max_categories=max_categories,
            outputs=OutputSpec.of(baseline, max_rows),
        )

    @property
    def int_labels(self) -> frozenset[str]:
        """Categorical features whose baseline categories are integers: labels are read as integers."""
        return self.baseline.int_label_features

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
