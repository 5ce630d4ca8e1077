"""Stage 2c of ingest: what a batch says about the model's quality, for a version whose baseline carries
its reference performance (:class:`mlmon.performance.Reference`, attached by the deploy step).

* the rows kept for the label join: the sampled request ids with their prediction (class index or
  value) and class probabilities;
* the label-free counts of CBPE (:class:`mlmon.performance.ConfidenceCounts`) over every row whose
  probabilities were sent, so the estimate covers the whole traffic, sampled or not.

Only the output columns are decoded here (msgspec skips the others), after the engine has counted the
batch, so a batch's drift counts never wait for this stage's refusals: a row whose prediction is
missing or unknown is simply not kept, one whose probabilities are not finite within ``[0, 1]`` is not
estimated.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
import numpy as np
import numpy.typing as npt

from mlmon.core.baseline import Baseline
from mlmon.core.outputs import PREDICTION
from mlmon.exceptions import InputError
from mlmon.performance import ClassificationCounts, Reference, RegressionCounts, encode
from mlmon.service.ingest.negotiate import Format
from mlmon.service.ingest.schemas import Category, CodedColumn, RawCodes, RawNumbers
from mlmon.store import Joined, LabelCounter, Prediction

__all__ = ["OutputSpec", "counter_of", "sampled"]

_SPACE = float(1 << 32)


def sampled(request_id: str, rate: float) -> bool:
    """Whether a request id is in the label sample: the same answer on every worker and replica, at
    ingest and when its label comes (CRC-32 of its UTF-8 bytes below ``rate * 2**32``)."""
    if rate >= 1.0:
        return True
    return rate > 0.0 and zlib.crc32(request_id.encode()) < rate * _SPACE


def _floats(col: list[float | None] | RawNumbers | None, rows: int) -> npt.NDArray[np.float64] | None:
    if col is None:
        return None
    if isinstance(col, RawNumbers):
        size = np.dtype(col.dtype).itemsize
        if len(col.data) != rows * size:
            return None
        return np.frombuffer(col.data, dtype=col.dtype).astype(np.float64)
    return np.array(col, dtype=np.float64) if len(col) == rows else None


def _labels(col: Any, rows: int) -> list[Any] | None:
    if col is None or isinstance(col, RawNumbers):
        return None
    if isinstance(col, CodedColumn):
        codes = col.codes
        idx: list[int] = (
            np.frombuffer(codes.data, dtype=codes.dtype).tolist() if isinstance(codes, RawCodes) else codes
        )
        n = len(col.categories)
        return [col.categories[c] if 0 <= c < n else None for c in idx] if len(idx) == rows else None
    return col if len(col) == rows else None


def _kept(
    request_ids: list[str | None],
    predicted: npt.NDArray[np.float64],
    scored: tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]] | None,
    sample: float,
) -> list[Prediction]:
    """The rows with an id, in the sample, whose prediction is known. Rows are picked with numpy and
    built from plain lists (a Python loop reading numpy scalars cost 1.5 us a row)."""
    keep = np.isfinite(predicted) & np.fromiter((r is not None for r in request_ids), bool, len(request_ids))
    if sample < 1.0:
        keep &= np.fromiter(
            (r is not None and sampled(r, sample) for r in request_ids), bool, len(request_ids)
        )
    rows = np.flatnonzero(keep)
    ids: list[str] = [request_ids[i] or "" for i in rows.tolist()]  # every picked row has an id
    values = predicted[rows].tolist()
    if scored is None:
        return list(map(Prediction, ids, values))
    probs, valid = scored
    width = 8 * probs.shape[1]
    blob = probs[rows].tobytes()
    scores = [blob[j * width : (j + 1) * width] if ok else None for j, ok in enumerate(valid[rows].tolist())]
    return list(map(Prediction, ids, values, scores))


@dataclass(frozen=True)
class OutputSpec:
    """How one model version's output columns become predictions and estimates.

    Build with :meth:`of`; ``None`` for a baseline without a reference performance.
    """

    reference: Reference
    proba: tuple[str, ...]
    """The class-probability columns in class order (empty unless the baseline records all of them)."""
    index: Mapping[Any, int]
    """Class label, and its string form, to class index (classifiers)."""
    has_prediction: bool
    json: msgspec.json.Decoder[Any]
    msgpack: msgspec.msgpack.Decoder[Any]

    @classmethod
    def of(cls, baseline: Baseline, max_rows: int) -> OutputSpec | None:
        """The spec of a baseline's outputs, or ``None`` when it carries no reference performance.

        Raises:
            CodecError: the baseline's reference performance bytes are damaged.
        """
        reference = Reference.from_baseline(baseline)
        if reference is None:
            return None
        classes = reference.classes or []
        proba = tuple(f"proba_{c}" for c in classes)
        if not proba or not set(proba) <= set(baseline.outputs):
            proba = ()
        index: dict[Any, int] = {}
        for i, c in enumerate(classes):
            index.setdefault(c, i)
            index.setdefault(str(c), i)
        numbers = Annotated[list[float | None], msgspec.Meta(max_length=max_rows)] | RawNumbers
        labels = Annotated[list[Category | None], msgspec.Meta(max_length=max_rows)] | CodedColumn
        pred_type = numbers if reference.task == "regression" else labels
        fields: list[tuple[str, Any, Any]] = [("p", pred_type | None, None)]
        rename = {"p": PREDICTION}
        for i, name in enumerate(proba):
            fields.append((f"c{i}", numbers | None, None))
            rename[f"c{i}"] = name
        struct = msgspec.defstruct("Outputs", fields, rename=rename)  # unknown columns are skipped
        return cls(
            reference=reference,
            proba=proba,
            index=index,
            has_prediction=PREDICTION in baseline.features,
            json=msgspec.json.Decoder(struct),
            msgpack=msgspec.msgpack.Decoder(struct),
        )

    def class_of(self, label: object) -> int | None:
        """The class index of a label (``"1"`` finds the class ``1``), or ``None``."""
        try:
            return self.index.get(label)
        except TypeError:  # an unhashable value is no class
            return None

    def _decode(self, raw: msgspec.Raw, fmt: Format) -> Any:
        try:
            return (self.json if fmt == "json" else self.msgpack).decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            # The engine accepted these columns; this decoder only sees the outputs' own types.
            raise InputError(f"output columns: {exc}") from exc

    def _predicted(self, cols: Any, rows: int) -> npt.NDArray[np.float64] | None:
        """Per row: the class index or the value (NaN where unknown)."""
        if self.reference.task == "regression":
            return _floats(cols.p, rows)
        labels = _labels(cols.p, rows)
        if labels is None:
            return None
        # Decoded labels are str, int or None (the wire's Category): hashable, so a plain lookup; numpy
        # turns the None of an unknown label into NaN in C.
        get = self.index.get
        return np.array([get(v) for v in labels], dtype=np.float64)

    def _probabilities(
        self, cols: Any, rows: int
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]] | None:
        if not self.proba:
            return None
        parts = [_floats(getattr(cols, f"c{i}"), rows) for i in range(len(self.proba))]
        if any(p is None for p in parts):
            return None
        probs = np.ascontiguousarray(np.column_stack([p for p in parts if p is not None]), dtype="<f8")
        valid = np.isfinite(probs).all(axis=1) & (probs >= 0).all(axis=1) & (probs <= 1).all(axis=1)
        return probs, valid

    def extract(
        self, raw: msgspec.Raw, fmt: Format, rows: int, request_ids: list[str | None] | None, sample: float
    ) -> tuple[list[Prediction], bytes | None]:
        """The batch's kept predictions and encoded CBPE counts (``None`` without probabilities).

        Raises:
            InputError: ``request_ids`` of another length than the batch (422).
        """
        if request_ids is not None and len(request_ids) != rows:
            raise InputError(f"request_ids has {len(request_ids)} values, the batch has {rows} rows")
        cols = self._decode(raw, fmt)
        scored = self._probabilities(cols, rows)
        estimate = None
        confidence = self.reference.empty_confidence()
        if scored is not None and confidence is not None and scored[1].any():
            confidence.update(scored[0][scored[1]])
            estimate = encode(confidence)
        if not request_ids:
            return [], estimate
        predicted = self._predicted(cols, rows)
        if predicted is None:
            return [], estimate
        return _kept(request_ids, predicted, scored, sample), estimate

    def label(self, value: object, request_id: str) -> str | int | float | bool:
        """A label as this version counts it: the class itself (``"1"`` is the class ``1``), or a finite
        number for a regression model.

        Raises:
            InputError: naming the request id: not a class of the model, or not a finite number.
        """
        if self.reference.task == "regression":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
                raise InputError(f"label of request {request_id!r}: {value!r} is not a finite number")
            return float(value)
        i = self.class_of(value)
        if i is None:
            classes = self.reference.classes or []
            raise InputError(
                f"label of request {request_id!r}: {value!r} is not a class of the model ({classes!r})"
            )
        cls: str | int | float | bool = (self.reference.classes or [])[i]
        return cls

    def count(self, rows: Sequence[Joined]) -> tuple[bytes, int]:
        """The performance counts of joined rows (a :data:`~mlmon.store.LabelCounter` for one version).

        Raises:
            InputError: a label this version cannot count (another version's class).
        """
        counts = self.reference.empty_counts()
        if isinstance(counts, RegressionCounts):
            truth = [float(self.label(r.label, "(joined)")) for r in rows]
            counts.update(truth, [r.predicted for r in rows])
        else:
            _count_classes(counts, [self.label(r.label, "(joined)") for r in rows], rows)
        return encode(counts), len(rows)


def _count_classes(counts: ClassificationCounts, truth: list[Any], rows: Sequence[Joined]) -> None:
    """Adds joined rows to a classifier's counts: with their probabilities where they were kept."""
    classes = counts.classes
    k = len(classes)
    if any(not 0 <= r.predicted < k for r in rows):
        raise InputError("a kept prediction's class index is outside the model's classes")
    pred = [classes[int(r.predicted)] for r in rows]
    scored = [i for i, r in enumerate(rows) if r.scores is not None and len(r.scores) == 8 * k]
    if scored:
        proba = np.array([np.frombuffer(rows[i].scores or b"", dtype="<f8") for i in scored])
        counts.update([truth[i] for i in scored], [pred[i] for i in scored], proba)
    rest = sorted(set(range(len(rows))) - set(scored))
    if rest:
        counts.update([truth[i] for i in rest], [pred[i] for i in rest])


def counter_of(specs: Mapping[str, OutputSpec]) -> LabelCounter:
    """The store's counter for the versions in ``specs``.

    Raises:
        InputError: (when called) a version without a reference performance.
    """

    def count(version: str, rows: Sequence[Joined]) -> tuple[bytes, int]:
        spec = specs.get(version)
        if spec is None:
            raise InputError(f"version {version!r} has no reference performance to count labels against")
        return spec.count(rows)

    return count
