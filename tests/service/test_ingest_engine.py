"""The engine's msgpack and JSON readers (``BaselineEntry.reader``, engine/src/wire) against the
msgspec path they replaced (``decode_columns`` + ``fold``): for every body both accept, the counts are
bit-identical (the same encoded profile and row count); for every body one refuses, the other refuses
it too, with the same status (400 or 422) and the very same message."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlmon
from mlmon.exceptions import InputError
from mlmon.service.errors import BadRequestError
from mlmon.service.ingest import BaselineEntry, decode_and_count, fold
from mlmon.service.ingest.count import fold_msgpack
from mlmon.service.ingest.schemas import IngestEnvelope

MAX_ROWS, MAX_CATEGORIES = 12, 4
_RNG = np.random.default_rng(0)
BASELINE = mlmon.Baseline.fit(
    {
        "age": _RNG.normal(40, 9, 500),
        "plan": _RNG.choice(["a", "b", "c"], 500),
        "tier": _RNG.integers(0, 3, 500),
    },
    categorical=["tier"],
)
ENTRY = BaselineEntry.build("m", "v1", "0" * 64, BASELINE.to_bytes(), MAX_ROWS, MAX_CATEGORIES)

Outcome = tuple[str, Any]


def _outcome(fold_body: Callable[[], Any]) -> Outcome:
    try:
        folded = fold_body()
    except BadRequestError as exc:
        return "400", str(exc)
    except InputError as exc:
        return "422", str(exc)
    return "ok", (bytes(folded.profile), folded.rows)


def old_path(raw: bytes) -> Outcome:
    return _outcome(lambda: fold(ENTRY, ENTRY.decode_columns(msgspec.Raw(raw), "msgpack"), MAX_ROWS))


def new_path(raw: bytes) -> Outcome:
    return _outcome(lambda: fold_msgpack(ENTRY, raw))


def check_same(raw: bytes) -> None:
    # The same outcome: the same counts, or the same status and the very same message.
    assert old_path(raw) == new_path(raw)


def _profiles(raw: bytes) -> dict[str, Any]:
    folded = fold_msgpack(ENTRY, raw)
    return dict(mlmon._engine.decode_profile(folded.profile))


small_ints = st.integers(-3, 3)
wide_ints = st.sampled_from([2**63 - 1, -(2**63), 2**63, 2**64 - 1, 2**53 + 1])
floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([-0.0, 39.5, 1e300])
labels = st.sampled_from(["a", "b", "z", "0", "1", "07", "-0", "-1", "99999999999999999999", "", "é"])
number_values = st.lists(st.none() | floats | small_ints | wide_ints, max_size=MAX_ROWS + 2)
label_values = st.lists(st.none() | labels | small_ints | wide_ints, max_size=MAX_ROWS + 2)
wrong = st.sampled_from([True, "x", 1.5, [[1]], {"x": 1}, b"\x00"])


@st.composite
def raw_column(draw: st.DrawFn, dtypes: list[str]) -> dict[str, Any]:
    dtype = draw(st.sampled_from([*dtypes] * 5 + ["<u8"]))
    size = 8 if dtype == "<u8" else np.dtype(dtype).itemsize
    n = draw(st.integers(0, MAX_ROWS + 1))
    # Whole values mostly (a stray byte now and then: the "not a multiple" refusal).
    data = draw(st.binary(min_size=n * size, max_size=n * size + int(draw(st.integers(0, 9)) == 7)))
    col: dict[str, Any] = {"dtype": dtype, "data": data}
    if draw(st.integers(0, 29)) == 17:
        col.pop(draw(st.sampled_from(["dtype", "data"])))
    if draw(st.integers(0, 19)) == 13:
        col["extra"] = 1
    return col


@st.composite
def coded_column(draw: st.DrawFn) -> dict[str, Any]:
    categories = draw(st.lists(st.none() | labels | small_ints | wide_ints, max_size=MAX_CATEGORIES + 1))
    n = draw(st.integers(0, MAX_ROWS + 1))
    top = max(len(categories), 1)
    codes: Any = draw(st.lists(st.integers(-2, top) | wide_ints, min_size=n, max_size=n))
    if draw(st.booleans()):
        dtype = draw(st.sampled_from(["<i8", "<i4", "<i2", "|i1"]))
        small = [c if -100 < c < 100 else 0 for c in codes]
        codes = {"dtype": dtype, "data": np.array(small, dtype=dtype).tobytes()}
    return {"categories": categories, "codes": codes}


# Weighted towards well-formed columns, so most bodies are counted and compared count for count.
numerical = st.one_of(*[number_values] * 4, *[raw_column(["<f8", "<f4", "<i8", "<i4"])] * 3, st.none(), wrong)
categorical = st.one_of(*[label_values] * 4, *[coded_column()] * 3, st.none(), wrong)


@st.composite
def columns(draw: st.DrawFn) -> dict[str, Any]:
    cols: dict[str, Any] = {}
    for name, values in (("age", numerical), ("plan", categorical), ("tier", categorical)):
        if draw(st.booleans()):
            cols[name] = draw(values)
    if draw(st.integers(0, 29)) == 17:
        cols["zz"] = [1.0]
    # Equal lengths most of the time, so most bodies get past the row check and are counted.
    lengths = {len(v) for v in cols.values() if isinstance(v, list)}
    if len(lengths) > 1 and draw(st.integers(0, 3)):
        n = min(lengths)
        cols = {k: v[:n] if isinstance(v, list) else v for k, v in cols.items()}
    return cols


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(columns())
def test_counts_and_refusals_match_the_msgspec_path(cols: dict[str, Any]) -> None:
    check_same(msgspec.msgpack.encode(cols))


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=64))
def test_arbitrary_bytes_are_refused_as_4xx(raw: bytes) -> None:
    # Not always one msgpack value (the envelope's decode guarantees that in the service), so only
    # the new path's contract is checked: counted, or a 400/422, never another exception.
    assert new_path(raw)[0] in {"ok", "400", "422"}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(width=64) | st.none(), min_size=1, max_size=MAX_ROWS))
def test_binary_and_list_numbers_count_the_same(values: list[float | None]) -> None:
    as_list = msgspec.msgpack.encode({"age": values})
    data = np.array([math.nan if v is None else v for v in values], dtype="<f8").tobytes()
    as_bin = msgspec.msgpack.encode({"age": {"dtype": "<f8", "data": data}})
    assert new_path(as_list) == new_path(as_bin) == old_path(as_bin)


@pytest.mark.parametrize(
    ("cols", "status", "needle"),
    [
        ({"age": [1.0, "x"]}, "422", "$.age[1]"),
        ({"tier": {"categories": [2**63], "codes": [0]}}, "422", "'tier': categories: integer category"),
        ({"tier": ["99999999999999999999"]}, "422", "'tier': values: integer category out of int64"),
        ({"plan": {"categories": ["a"], "codes": [2**63]}}, "422", "'plan': a code does not fit in 64 bits"),
        ({"plan": ["a", "b", "c", "d", "e"]}, "422", "'plan': 5 distinct categories, more than"),
    ],
)
def test_refusals_name_the_column(cols: dict[str, Any], status: str, needle: str) -> None:
    raw = msgspec.msgpack.encode(cols)
    for outcome in (old_path(raw), new_path(raw)):
        assert outcome[0] == status and needle in outcome[1], outcome


def test_invalid_utf8_is_400_on_both_paths() -> None:
    raw = b"\x81\xa4plan\x91\xa2\xff\xfe"
    assert old_path(raw)[0] == new_path(raw)[0] == "400"


def test_integer_labels_follow_the_baseline_domain() -> None:
    raw = msgspec.msgpack.encode({"plan": ["a", 1, None], "tier": ["1", "07", 2]})
    check_same(raw)
    tier = _profiles(raw)["tier"]
    counts = dict(zip(tier.categories, tier.counts.tolist(), strict=True))
    assert (counts[1], counts[2], counts[0], tier.unseen) == (1, 1, 0, 1)  # "07" is no integer


def _json_outcome(raw: bytes, engine: bool) -> Outcome:
    envelope = IngestEnvelope(columns=msgspec.Raw(raw))
    if engine:
        return _outcome(lambda: decode_and_count(ENTRY, envelope, "json", MAX_ROWS))
    return _outcome(lambda: fold(ENTRY, ENTRY.decode_columns(envelope.columns, "json"), MAX_ROWS))


def check_same_json(raw: bytes) -> None:
    assert _json_outcome(raw, engine=False) == _json_outcome(raw, engine=True)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(columns())
def test_json_counts_and_refusals_match_the_msgspec_path(cols: dict[str, Any]) -> None:
    check_same_json(msgspec.json.encode(cols))


number_texts = st.sampled_from(
    ["0", "-0", "-0.0", "1e5", "1E-5", "2.5e+3", "0.1000000000000000055511151231257827", "1e400",
     "123456789012345678", "1234567890123456789", "9007199254740993", "4.9e-324", "01", "1.", "+1"]
)  # fmt: skip
label_texts = st.sampled_from(['"a"', '"a\\"b"', '"\\u00e9"', '"é"', '"0"', "7", "-7", "1.5", "true", "null"])


@settings(max_examples=400, deadline=None)
@given(st.lists(number_texts, min_size=1, max_size=4), st.lists(label_texts, min_size=1, max_size=4))
def test_json_spellings_match_the_msgspec_path(numbers: list[str], texts: list[str]) -> None:
    n = min(len(numbers), len(texts))
    raw = f'{{"age": [{", ".join(numbers[:n])}], "plan": [{", ".join(texts[:n])}]}}'.encode()
    check_same_json(raw)


def test_the_readers_take_a_view_of_the_body_as_they_take_bytes() -> None:
    """The service hands the readers ``np.frombuffer`` over msgspec's ``Raw`` (the body's own memory,
    no copy); the counts are those of the same bytes, and anything but a contiguous uint8 view is a
    clear error."""
    columns = {"age": {"dtype": "<f8", "data": np.arange(5.0).tobytes()}, "plan": ["a", "b", "z", "a", None]}
    raw = msgspec.msgpack.encode(columns)
    envelope = msgspec.msgpack.decode(
        msgspec.msgpack.encode({"batch_id": "b", "columns": columns}), type=IngestEnvelope
    )
    assert isinstance(envelope.columns, msgspec.Raw)
    view = np.frombuffer(envelope.columns, dtype=np.uint8)
    assert ENTRY.reader.fold_msgpack(view) == ENTRY.reader.fold_msgpack(raw)
    as_json = msgspec.json.encode(columns)
    assert ENTRY.reader.fold_json(np.frombuffer(as_json, dtype=np.uint8)) == ENTRY.reader.fold_json(as_json)
    doubled = np.frombuffer(raw + raw, dtype=np.uint8)
    with pytest.raises(mlmon.exceptions.DtypeError, match="contiguous"):
        ENTRY.reader.fold_msgpack(doubled[::2])
    for wrong_kind in (np.frombuffer(raw, dtype=np.int8), raw.decode("latin-1"), bytearray(raw)):
        with pytest.raises(mlmon.exceptions.DtypeError, match="bytes or a 1-D uint8 array"):
            ENTRY.reader.fold_msgpack(wrong_kind)
