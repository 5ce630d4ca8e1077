"""Profile: one call per batch counts exactly what the per-feature histogram and category paths count."""

from __future__ import annotations

import types
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mlmon
from mlmon import _engine as e

NUMERIC_DTYPES = ["<f8", "<f4", "<i8", "<i4", "<i2", "<i1", "<u1", "<u2", "<u4"]
LABELS = ["a", "b", "c", "dé", "", "long label " * 3, "ü"]
EDGES = e.BinEdges.explicit([-50.0, -1.5, 0.0, 2.0, 7.0, 100.0], -60.0, 90.0)
REF = e.CategoryCounts.fit(np.array(["a", "b", "b", "c", "c", "c"], dtype=object))
WHEN = datetime(2026, 1, 2, tzinfo=timezone.utc)


def obj(xs: list[object]) -> np.ndarray:
    a = np.empty(len(xs), dtype=object)
    a[:] = xs
    return a


def numbers(dtype: str) -> st.SearchStrategy[np.ndarray]:
    kind = np.dtype(dtype).kind
    elements = (
        st.floats(allow_nan=True, allow_infinity=True, width=32 if dtype == "<f4" else 64)
        if kind == "f"
        else None
    )
    return hnp.arrays(dtype, st.integers(0, 300), elements=elements)


def strided(draw: st.DrawFn, a: np.ndarray) -> np.ndarray:
    return a[:: draw(st.sampled_from([1, 2, -1, -3]))]


@st.composite
def numeric_column(draw: st.DrawFn) -> np.ndarray:
    return strided(draw, draw(numbers(draw(st.sampled_from(NUMERIC_DTYPES)))))


@st.composite
def category_column(draw: st.DrawFn) -> np.ndarray:
    kind = draw(st.sampled_from(["object", "U", "bool", "int"]))
    n = draw(st.integers(0, 200))
    if kind == "object":
        pick = st.one_of(st.sampled_from(LABELS), st.none(), st.integers(-3, 3), st.just(float("nan")))
        a = obj(draw(st.lists(pick, min_size=n, max_size=n)))
    elif kind == "U":
        a = np.array(draw(st.lists(st.sampled_from(LABELS), min_size=n, max_size=n)), dtype="U")
    elif kind == "bool":
        a = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    else:
        dtype = draw(st.sampled_from(NUMERIC_DTYPES[2:]))
        a = np.array(draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)), dtype=dtype)
    return strided(draw, a)


def one_feature(counts: e.NumericHistogram | e.CategoryCounts) -> e.Profile:
    return e.Profile([("f", counts)])


@given(numeric_column())
def test_numbers_count_as_the_histogram_counts_them(values: np.ndarray) -> None:
    hist = e.NumericHistogram(EDGES)
    hist.update(values)
    profile = one_feature(e.NumericHistogram(EDGES))
    assert profile.update({"f": values}) == ([], [])
    assert profile.features[0][1] == hist


@given(category_column())
def test_categories_count_as_category_counts_count_them(values: np.ndarray) -> None:
    # Unseen values stay below the sketch capacity (20): which of tied values an eviction keeps
    # depends on hash order, in either path.
    direct = REF.empty_like()
    direct.update(values)
    profile = one_feature(REF.empty_like())
    assert profile.update({"f": values}) == ([], [])
    assert profile.to_bytes() == e.encode_profile([("f", direct)])


@given(st.lists(st.sampled_from(LABELS), max_size=50), st.booleans())
def test_strings_and_bools_are_invalid_for_numerical_features(labels: list[str], as_bool: bool) -> None:
    flags = [len(s) % 2 == 0 for s in labels]
    values = np.array(flags, dtype=bool) if as_bool else np.array(labels, dtype="U")
    profile = one_feature(e.NumericHistogram(EDGES))
    assert profile.update({"f": values}) == ([("f", len(values), 0)], [])
    assert profile.features[0][1].total == 0


@pytest.mark.parametrize(
    ("values", "numeric"),
    [
        (obj([1.0, None, 2.5]), True),
        (np.array([1, 2], dtype=np.float16), True),
        (np.array([1, 2], dtype=np.uint64), True),
        (np.array([1.5, 2.0]), False),
        (obj(["a", 1.5]), False),
        (obj(["a", b"\xff\xfe"]), False),
        (np.array([b"a", b"b"]), False),
        (np.array([1.0, 2.0], dtype=">f8"), True),
        ([1.0, 2.0], True),
    ],
)
def test_columns_it_cannot_read_exactly_are_left_to_the_caller(values: Any, numeric: bool) -> None:
    counts = e.NumericHistogram(EDGES) if numeric else REF.empty_like()
    profile = one_feature(counts)
    assert profile.update({"f": values, "other": values}) == ([], ["f"])
    assert counts.total == 0


def test_a_bad_column_is_named_and_nothing_is_counted() -> None:
    hist = e.NumericHistogram(EDGES)
    profile = e.Profile([("x", hist), ("z", REF.empty_like())])
    with pytest.raises(e.InputError, match="feature 'z': 2 values, but other columns have 3"):
        profile.update({"x": np.ones(3), "z": obj(["a", "b"])})
    with pytest.raises(e.DtypeError, match="feature 'z': unsupported dtype complex128"):
        profile.update({"x": np.ones(2), "z": np.ones(2, dtype=complex)})
    assert hist.total == 0
    with pytest.raises(e.DtypeError, match="expected a dict"):
        profile.update([("x", np.ones(2))])  # type: ignore[arg-type]


def test_profiles_share_their_counts_objects_and_refuse_duplicates() -> None:
    hist = e.NumericHistogram(EDGES)
    profile = e.Profile([("x", hist)])
    profile.update({"x": np.arange(10.0)})
    assert hist.total == 10
    assert profile.features[0][1] is hist
    with pytest.raises(e.InputError):
        e.Profile([("x", hist), ("y", hist)])
    with pytest.raises(e.InputError):
        e.Profile([("x", hist), ("x", e.NumericHistogram(EDGES))])
    with pytest.raises(e.DtypeError):
        e.Profile([("x", object())])  # type: ignore[list-item]


def pair() -> e.Profile:
    return e.Profile([("x", e.NumericHistogram(EDGES)), ("c", REF.empty_like())])


@given(numbers("<f8"), st.lists(st.sampled_from(LABELS), max_size=100), st.integers(0, 100))
def test_merge_of_parts_equals_whole_and_bytes_merge_the_same(
    x: np.ndarray, labels: list[str], cut: int
) -> None:
    n = min(len(x), len(labels))
    batch = {"x": x[:n], "c": obj(list(labels[:n]))}
    whole, left, right = pair(), pair(), pair()
    whole.update(batch)
    left.update({k: v[:cut] for k, v in batch.items()})
    right.update({k: v[cut:] for k, v in batch.items()})
    merged = e.Profile.merge_bytes(left.to_bytes(), right.to_bytes())
    left.merge(right)
    assert left.to_bytes() == whole.to_bytes() == merged
    assert e.Profile.from_bytes(merged).to_bytes() == merged


@given(st.binary(max_size=200))
def test_garbage_bytes_are_codec_errors(data: bytes) -> None:
    with pytest.raises(e.CodecError):
        e.Profile.from_bytes(data)
    with pytest.raises(e.CodecError):
        e.Profile.merge_bytes(data, pair().to_bytes())


def test_merge_refuses_other_features_and_kinds() -> None:
    p = pair()
    other = e.Profile([("y", e.NumericHistogram(EDGES))])
    with pytest.raises(e.SchemaMismatchError):
        p.merge(other)
    kinds = e.Profile([("x", REF.empty_like())])
    with pytest.raises(e.SchemaMismatchError):
        p.merge(kinds)
    with pytest.raises(e.SchemaMismatchError):
        e.Profile.merge_bytes(p.to_bytes(), kinds.to_bytes())
    # merge_bytes keeps features that only one side has, as the store's merges do.
    union = e.Profile.from_bytes(e.Profile.merge_bytes(p.to_bytes(), other.to_bytes()))
    assert union.names == ["x", "c", "y"]
    assert p.empty_like().to_bytes() == pair().to_bytes()


BASELINE = mlmon.Baseline.fit(
    {
        "x": np.linspace(-3, 3, 500),
        "i": np.arange(500) % 7,
        "s": obj([LABELS[k % 4] for k in range(500)]),
        "b": np.arange(500) % 3 == 0,
        "u": np.array([LABELS[k % 3] for k in range(500)]),
    },
    categorical=["i"],
)


KINDS = {
    "x": ["f8", "f4", "i4", "U", "b", "O-num", "f2"],
    "i": ["i8", "u1", "f8-int", "O", "b"],
    "s": ["O", "U", "i4", "b", "O-bad"],
    "b": ["b", "O", "U"],
    "u": ["U", "O"],
}
PICK = st.one_of(st.sampled_from(LABELS), st.none(), st.integers(0, 5))
BAD = st.one_of(PICK, st.just(1.5), st.just(b"\xff"))


def make_column(draw: st.DrawFn, kind: str, n: int) -> np.ndarray:
    ints = np.array(draw(st.lists(st.integers(0, 8), min_size=n, max_size=n)), dtype=np.int64)
    if kind.startswith("O"):
        if kind == "O-num":
            return obj([None if k == 0 else k / 2 for k in ints.tolist()])
        return obj(draw(st.lists(BAD if kind == "O-bad" else PICK, min_size=n, max_size=n)))
    if kind == "U":
        return np.array([LABELS[k % len(LABELS)] for k in ints.tolist()], dtype="U")
    if kind == "b":
        return np.equal(ints % 2, 0)
    if kind == "f8-int":
        return np.where(ints == 0, np.nan, ints.astype(float))
    if kind == "f8":
        return ints / 3 - 1
    dtype = {"f4": np.float32, "f2": np.float16, "i4": np.int32, "i8": np.int64, "u1": np.uint8}[kind]
    return (ints.astype(dtype) - 1)[::-1] if kind == "f4" else ints.astype(dtype)


@st.composite
def batches(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(0, 60))
    columns: dict[str, Any] = {}
    for name, kinds in KINDS.items():
        if draw(st.integers(0, 9)) > 0:  # else the column is absent
            columns[name] = make_column(draw, draw(st.sampled_from(kinds)), n)
    if draw(st.booleans()):
        columns["extra"] = np.zeros(n)
    return columns


@given(st.lists(batches(), min_size=1, max_size=3), st.sampled_from([None, 25]))
def test_monitor_counts_dicts_exactly_as_the_per_feature_path(
    batch_list: list[dict[str, Any]], window: Any
) -> None:
    fast = mlmon.Monitor(BASELINE, window=window, on_error="count")
    general = mlmon.Monitor(BASELINE, window=window, on_error="count")
    for batch in batch_list:
        fast.update(batch, WHEN)
        # A read-only mapping is not a dict, so it takes the per-feature path of every release so far.
        general.update(types.MappingProxyType(batch), WHEN)
    assert fast.snapshot() == general.snapshot()


@given(st.lists(st.lists(st.sampled_from(LABELS), max_size=30), min_size=1, max_size=5))
def test_merge_all_equals_merging_one_by_one(parts: list[list[str]]) -> None:
    profiles = []
    for labels in parts:
        p = pair()
        p.update({"x": np.arange(len(labels), dtype=float), "c": obj(list(labels))})
        profiles.append(p)
    total = pair()
    for p in profiles:
        total.merge(p)
    assert e.Profile.merge_all([p.to_bytes() for p in profiles]) == total.to_bytes()


def test_merge_all_refuses_nothing_garbage_and_other_kinds() -> None:
    with pytest.raises(e.InputError):
        e.Profile.merge_all([])
    with pytest.raises(e.CodecError):
        e.Profile.merge_all([pair().to_bytes(), b"MLMN garbage"])
    kinds = e.Profile([("x", REF.empty_like())]).to_bytes()
    with pytest.raises(e.SchemaMismatchError, match="numerical in one profile, categorical in another"):
        e.Profile.merge_all([pair().to_bytes(), kinds])


def frame_with_every_kind(rng: np.random.Generator, n: int) -> Any:
    import pandas as pd

    labels = obj([LABELS[k % 4] if k % 9 else None for k in rng.integers(0, 40, n)])
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "i": pd.Series(rng.integers(0, 7, n), dtype="Int64").where(rng.random(n) > 0.1),
            "s": pd.Series(labels, dtype="str"),
            "b": rng.random(n) > 0.5,
            "u": pd.Categorical(rng.choice(["a", "b", "zz"], n)),
            "extra": np.zeros(n),
        }
    )


@pytest.mark.parametrize("window", [None, 7])
def test_monitor_counts_dataframes_exactly_as_the_per_feature_path(
    monkeypatch: pytest.MonkeyPatch, window: Any
) -> None:
    from mlmon.core import _arrays

    rng = np.random.default_rng(5)
    frames = [frame_with_every_kind(rng, n) for n in (0, 1, 40, 33)]
    frames.append(frames[2].assign(x=frames[2]["s"], s=frames[2]["x"]))  # kinds swapped: invalid values
    fast = mlmon.Monitor(BASELINE, window=window, on_error="count")
    for frame in frames:
        fast.update(frame, WHEN)
    monkeypatch.setattr(_arrays, "from_pandas", lambda obj, wanted: None)
    general = mlmon.Monitor(BASELINE, window=window, on_error="count")
    for frame in frames:
        general.update(frame, WHEN)
    assert fast.snapshot() == general.snapshot()
    assert fast._cumulative().invalid["x"] == general._cumulative().invalid["x"] > 0


def test_a_pickled_monitor_keeps_counting_into_its_own_counts() -> None:
    import pickle

    monitor = mlmon.Monitor(BASELINE, on_error="count")
    monitor.update({"x": np.linspace(-1, 1, 50)}, WHEN)
    copy = pickle.loads(pickle.dumps(monitor))
    copy.update({"x": np.linspace(-1, 1, 50)}, WHEN)
    hist = copy._open.profiles["x"]
    assert isinstance(hist, e.NumericHistogram)
    assert hist.total == 100
    assert copy._open.counts.features[0][1] is hist


def test_a_strict_update_counts_nothing_unless_every_column_is_counted() -> None:
    hist, cats = e.NumericHistogram(EDGES), REF.empty_like()
    profile = e.Profile([("x", hist), ("c", cats)])
    labels = obj(["a", "b"])
    assert profile.update({"x": np.array(["1", "2"]), "c": labels}, strict=True) == ([("x", 2, 0)], [])
    assert profile.update({"x": obj([1.0, None]), "c": labels}, strict=True) == ([], ["x"])
    assert (hist.total, cats.total) == (0, 0)
    assert profile.update({"x": np.ones(2), "c": labels}, strict=True) == ([], [])
    assert (hist.total, cats.total) == (2, 2)


def arrow_and_polars_frames(rng: np.random.Generator) -> list[Any]:
    import polars as pl
    import pyarrow as pa

    out: list[Any] = []
    for n in (0, 30, 45):
        strs = [LABELS[k % 5] if k % 7 else None for k in rng.integers(0, 40, n).tolist()]
        xs = [None if k % 11 == 0 else k / 3 for k in rng.integers(0, 40, n).tolist()]
        table = pa.table(
            {
                "x": pa.array(xs, pa.float64()),
                "i": pa.array(rng.integers(0, 7, n), pa.int32()),
                "s": pa.array(strs, pa.large_string()),
                "b": pa.array((rng.random(n) > 0.5).tolist()),
                "u": pa.array(strs).dictionary_encode(),
                "extra": pa.array(np.zeros(n)),
            }
        )
        out += [table, pa.record_batch(table.to_batches()[0]) if n else table, pl.from_arrow(table)]
        out.append(table.rename_columns(["s", "i", "x", "b", "u", "extra"]))  # kinds swapped: invalid
    return out


@pytest.mark.parametrize("window", [None, 20])
def test_monitor_counts_arrow_and_polars_exactly_as_the_per_feature_path(
    monkeypatch: pytest.MonkeyPatch, window: Any
) -> None:
    from mlmon.core import _arrays

    frames = arrow_and_polars_frames(np.random.default_rng(9))
    fast = mlmon.Monitor(BASELINE, window=window, on_error="count")
    for frame in frames:
        fast.update(frame, WHEN)
    monkeypatch.setattr(_arrays, "from_batch", lambda batch: batch)
    general = mlmon.Monitor(BASELINE, window=window, on_error="count")
    for frame in frames:
        general.update(frame, WHEN)
    assert fast.snapshot() == general.snapshot()
    assert fast._cumulative().invalid["x"] == general._cumulative().invalid["x"] > 0
