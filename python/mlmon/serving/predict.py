"""``/predict`` bodies in, predictions out: typed decoding, feature checks, scoring, drift forwarding.

A body is ``{"rows": [{feature: value}, ...]}`` or ``{"columns": {feature: [values]}}`` in JSON or
msgpack, decoded into a Struct with no ``Any`` (a hostile body fails at the first wrong byte). Every
feature of the model must be present and no other; a feature whose values are all numbers (or null =
missing) becomes a float64 column, any other keeps its values for the model's own encoders. Scoring and
forwarding run in a worker thread; the drift client only buffers, so forwarding never slows a reply.
"""

from __future__ import annotations

import contextlib
import secrets
from typing import Annotated, Any

import msgspec
import numpy as np
import numpy.typing as npt

from mlmon._http.errors import BadRequestError, UnsupportedMediaError
from mlmon.core._compat import require
from mlmon.core.outputs import MAX_PROBA_CLASSES, PREDICTION, output_columns
from mlmon.exceptions import InputError
from mlmon.serving.models import LiveModel

__all__ = ["PredictRequest", "PredictResponse", "decode", "request_ids_of", "score", "to_columns"]

Value = Annotated[str, msgspec.Meta(max_length=1024)] | float | bool | None
_ROWS_CAP = 1_000_000  # a type-level cap against length bombs; the configured limit is checked after


RequestId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class PredictRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A batch to score: rows or columns (exactly one of them), and optionally the caller's own id of
    each row (an order id, say), under which its label will come back."""

    rows: Annotated[list[dict[str, Value]], msgspec.Meta(max_length=_ROWS_CAP)] | None = None
    columns: dict[str, Annotated[list[Value], msgspec.Meta(max_length=_ROWS_CAP)]] | None = None
    request_ids: Annotated[list[RequestId], msgspec.Meta(max_length=_ROWS_CAP)] | None = None


class PredictResponse(msgspec.Struct):
    """Predictions, in row order, the model that made them, and each row's request id (the caller's, or
    one made here) for sending its label to the drift service later (``POST /v1/models/{model}/labels``
    there, or ``DriftClient.send_labels``)."""

    predictions: list[Any]
    model: str
    version: str
    request_ids: list[str] | None = None


_JSON = msgspec.json.Decoder(PredictRequest)
_MSGPACK = msgspec.msgpack.Decoder(PredictRequest)
_MSGPACK_TYPES = {"application/msgpack", "application/x-msgpack", "application/vnd.msgpack"}


def decode(body: bytes, content_type: str | None) -> PredictRequest:
    """Decodes a request body by its media type.

    Raises:
        UnsupportedMediaError: neither JSON nor msgpack (415).
        BadRequestError: malformed or mistyped (400).
    """
    media = (content_type or "application/json").split(";", 1)[0].strip().lower()
    if media != "application/json" and media not in _MSGPACK_TYPES:
        raise UnsupportedMediaError(
            f"unsupported media type {media!r}: use application/json or application/msgpack"
        )
    try:
        return (_JSON if media == "application/json" else _MSGPACK).decode(body)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise BadRequestError(f"malformed body: {exc}") from exc


def to_columns(req: PredictRequest, features: tuple[str, ...], max_rows: int) -> dict[str, list[Any]]:
    """The model's features as columns, checked.

    Raises:
        InputError: neither or both of rows/columns, no rows, too many rows, a missing or unknown
            feature, or columns of different lengths (422, naming the feature).
    """
    if (req.rows is None) == (req.columns is None):
        raise InputError('send exactly one of "rows" or "columns"')
    wanted = set(features)
    if req.rows is not None:
        for i, row in enumerate(req.rows):
            _check_names(set(row), wanted, f"row {i}")
        cols = {name: [row[name] for row in req.rows] for name in features}
    else:
        assert req.columns is not None
        _check_names(set(req.columns), wanted, "columns")
        cols = {name: req.columns[name] for name in features}
        for name, values in cols.items():
            if len(values) != len(cols[features[0]]):
                raise InputError(
                    f"feature {name!r} has {len(values)} values, {features[0]!r} has {len(cols[features[0]])}"
                )
    n = len(cols[features[0]])
    if n == 0:
        raise InputError("no rows to score")
    if n > max_rows:
        raise InputError(f"{n} rows is more than the limit of {max_rows} per call")
    return cols


def _check_names(got: set[str], wanted: set[str], where: str) -> None:
    missing = sorted(wanted - got)
    if missing:
        raise InputError(
            f"{where}: missing feature {missing[0]!r}"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
        )
    unknown = sorted(got - wanted)
    if unknown:
        raise InputError(
            f"{where}: unknown feature {unknown[0]!r}; the model takes {', '.join(sorted(wanted))}"
        )


def _array(values: list[Any]) -> npt.NDArray[Any]:
    if all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values):
        return np.asarray(values, dtype=np.float64)  # None -> NaN (missing)
    return np.asarray(values, dtype=object)


def _frame(live: LiveModel, arrays: dict[str, npt.NDArray[Any]]) -> Any:
    if live.named:
        # A model fitted on a DataFrame checks the column names it is given, so it gets one.
        pd = require("pandas", "pandas")
        return pd.DataFrame(arrays, columns=list(live.features), copy=False)
    if all(a.dtype == np.float64 for a in arrays.values()):
        return np.column_stack(list(arrays.values()))
    return np.column_stack([a.astype(object) for a in arrays.values()])


def request_ids_of(req: PredictRequest, rows: int) -> list[str]:
    """The rows' request ids: the caller's, else ``<batch>-<row>`` under a random 96-bit batch id (one
    random draw per request, not per row: a uuid4 per row cost more than scoring a small batch).

    Raises:
        InputError: the caller's list has another length than the rows (422).
    """
    if req.request_ids is None:
        batch = secrets.token_hex(12)
        return [f"{batch}-{i}" for i in range(rows)]
    if len(req.request_ids) != rows:
        raise InputError(f"request_ids has {len(req.request_ids)} values, the batch has {rows} rows")
    return req.request_ids


def score(
    live: LiveModel, cols: dict[str, list[Any]], request_ids: list[str] | None = None
) -> PredictResponse:
    """Scores the columns with the live model and hands them, with their outputs and request ids, to
    its drift client (runs in a thread).

    Raises:
        InputError: the model refuses the values (422, naming the features with text or missing values).
    """
    arrays = {name: _array(values) for name, values in cols.items()}
    frame = _frame(live, arrays)
    try:
        predictions = live.estimator.predict(frame)
    except (ValueError, TypeError) as exc:
        text = [n for n, a in arrays.items() if a.dtype == object]
        missing = [n for n, a in arrays.items() if a.dtype == np.float64 and np.isnan(a).any()]
        hint = "".join(
            [
                f"; text values in feature {', '.join(map(repr, text))}" if text else "",
                f"; missing values in feature {', '.join(map(repr, missing))}" if missing else "",
            ]
        )
        raise InputError(f"the model could not score these rows: {str(exc).splitlines()[0]}{hint}") from exc
    if live.drift is not None:
        outputs = _outputs(live, frame, predictions)
        # Request ids go with the outputs only: without them no label can be counted.
        live.drift.record_batch({**outputs, **arrays}, request_ids if outputs else None)
    return PredictResponse(np.asarray(predictions).tolist(), live.name, live.version, request_ids)


def _outputs(live: LiveModel, frame: Any, predictions: Any) -> dict[str, npt.NDArray[Any]]:
    """The model's outputs its baseline records (:func:`mlmon.output_columns`: its prediction and, for
    a classifier, each class's probability), for the drift service to watch prediction drift. Scoring
    the probabilities costs a second pass of the model, on the worker thread, only when the baseline
    records them; a model whose ``predict_proba`` fails still has its prediction recorded."""
    if not live.outputs:
        return {}
    classes = getattr(live.estimator, "classes_", None)
    proba_of = getattr(live.estimator, "predict_proba", None)
    proba = None
    wants_proba = any(n != PREDICTION for n in live.outputs)
    if wants_proba and callable(proba_of) and classes is not None and len(classes) <= MAX_PROBA_CLASSES:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            proba = proba_of(frame)
    labels = None if classes is None else np.asarray(classes).tolist()
    try:
        columns = output_columns(predictions, proba, labels)
    except InputError:  # an estimator whose answers are not one per row: its inputs still count
        return {}
    # Only what the baseline records, so the drift service never sees a column it does not know.
    return {n: c for n, c in columns.items() if n in live.outputs}
