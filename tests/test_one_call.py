"""The one-call path of ``Monitor.update`` (``mlmon.core._one_call``) against the general path, on random and
adversarial dict batches: the same counts, the same bookkeeping (invalid values, missing and unexpected
columns, windows) and the same errors, with nothing counted by a refused batch."""

from __future__ import annotations

import types
from datetime import datetime, timedelta, timezone
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlmon

T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)
LABELS = np.array(["a", "b", "c", "d", None, "e"], dtype=object)


@pytest.fixture(scope="module")
def baseline() -> mlmon.Baseline:
    rng = np.random.default_rng(0)
    reference = {
        "x": rng.normal(size=2000),
        "n": rng.integers(0, 50, 2000),
        "s": LABELS[rng.integers(0, 4, 2000)],
        "u": np.array(["p", "q", "r"])[rng.integers(0, 3, 2000)],
        "k": rng.integers(0, 6, 2000),
    }
    return mlmon.Baseline.fit(reference, categorical=["s", "u", "k"])


def _column(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """A column of ``kind``; some kinds are wrong for some features on purpose."""
    if kind == "float":
        v = rng.normal(size=n)
        v[rng.random(n) < 0.1] = np.nan
        return v
    if kind == "float_strided":
        return rng.normal(size=2 * n)[::2]
    if kind == "int32":
        return rng.integers(-3, 60, n).astype(np.int32)
    if kind == "bool":
        return rng.random(n) < 0.5
    if kind == "objects":
        return LABELS[rng.integers(0, len(LABELS), n)]
    if kind == "object_floats":
        return np.array([1.5] * n, dtype=object)
    if kind == "object_surrogates":  # a str with no UTF-8 form: no category can be it
        return np.array(["a", "\ud800x"] * (n // 2) + ["b"] * (n % 2), dtype=object)
    if kind == "unicode":
        return np.array(["p", "q", "zz"])[rng.integers(0, 3, n)]
    if kind == "float16":
        return rng.normal(size=n).astype(np.float16)
    if kind == "datetime":
        return np.arange(n).astype("datetime64[s]")
    if kind == "list":  # not an array: the engine leaves the whole dict to the general path
        return rng.normal(size=n).tolist()  # type: ignore[no-any-return]
    if kind == "short":  # one value fewer than the other columns
        return rng.normal(size=max(n - 1, 0))
    if kind == "matrix":
        return rng.normal(size=(n, 2))
    raise AssertionError(kind)


KINDS = ["float", "float_strided", "int32", "bool", "objects", "object_floats", "object_surrogates"]
KINDS += ["unicode", "float16", "datetime", "list", "short", "matrix"]


def _outcome(mon: mlmon.Monitor, batch: Any, when: datetime) -> str:
    try:
        mon.update(batch, when)
    except mlmon.MlmonError as exc:
        return f"{type(exc).__name__}: {exc}"
    return "ok"


def _state(mon: mlmon.Monitor) -> list[Any]:
    out = []
    for w in [*mon._closed, mon._open]:
        out.append(
            (
                w.key,
                w.rows,
                w.start,
                w.end,
                dict(w.invalid),
                dict(w.extra_missing),
                sorted(w.unexpected),
                sorted(w.missing_columns),
                w.counts.to_bytes(),
            )
        )
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    plan=st.lists(
        st.tuples(
            st.dictionaries(st.sampled_from(["x", "n", "s", "u", "k", "extra"]), st.sampled_from(KINDS)),
            st.integers(0, 40),
            st.integers(0, 3),
        ),
        min_size=1,
        max_size=6,
    ),
    window=st.sampled_from([None, 25, "1h"]),
    policy=st.sampled_from(["raise", "count"]),
    seed=st.integers(0, 2**16),
)
def test_the_one_call_path_equals_the_general_path(
    baseline: mlmon.Baseline, plan: list[tuple[dict[str, str], int, int]], window: Any, policy: Any, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    fast = mlmon.Monitor(baseline, window=window, on_error=policy)
    general = mlmon.Monitor(baseline, window=window, on_error=policy)
    for kinds, n, hours in plan:
        batch = {name: _column(kind, n, rng) for name, kind in kinds.items()}
        when = T0 + timedelta(hours=hours)
        # A read-only mapping is not a dict: it takes the general path.
        assert _outcome(fast, batch, when) == _outcome(general, types.MappingProxyType(batch), when)
        a, b = _state(fast), _state(general)
        assert len(a) == len(b), (plan, window, policy, seed)
        for wa, wb in zip(a, b, strict=True):
            for i, (x, y) in enumerate(zip(wa, wb, strict=True)):
                assert x == y, (i, plan, window, policy, seed)


def test_update_dict_leaves_every_unusual_dict_untouched(baseline: mlmon.Baseline) -> None:
    rng = np.random.default_rng(3)
    kinds = [("x", "float"), ("n", "int32"), ("s", "objects")]
    plain = {name: _column(kind, 10, rng) for name, kind in kinds}
    counts = mlmon.Monitor(baseline)._open.counts
    before = counts.to_bytes()

    class Sub(dict):  # type: ignore[type-arg]
        pass

    class Array(np.ndarray):
        pass

    for odd in (
        Sub(plain),
        {**plain, 1: plain["x"]},
        {**plain, "x": plain["x"].tolist()},
        {**plain, "x": plain["x"][:5]},
        {**plain, "x": np.stack([plain["x"]] * 2)},
        {**plain, "x": plain["x"].view(Array)},
        {**plain, "x": plain["x"].astype(np.float16)},
    ):
        assert counts.update_dict(odd) is None
    assert counts.update_dict(plain, strict=True) is None  # "u" and "k" are absent
    assert counts.to_bytes() == before
    rows, invalid, unexpected, absent = counts.update_dict({**plain, "zz": plain["x"]})
    assert (rows, invalid, unexpected, sorted(absent)) == (10, [], ["zz"], ["k", "u"])
    assert counts.to_bytes() != before


def test_a_refused_batch_changes_nothing_even_when_its_window_is_new(baseline: mlmon.Baseline) -> None:
    rng = np.random.default_rng(1)
    mon = mlmon.Monitor(baseline, window="1h")
    good = {name: _column(kind, 10, rng) for name, kind in
            [("x", "float"), ("n", "int32"), ("s", "objects"), ("u", "unicode"), ("k", "int32")]}  # fmt: skip
    mon.update(good, T0)
    before = _state(mon)
    bad = dict(good, s=_column("object_floats", 10, rng))
    with pytest.raises(mlmon.DtypeError, match="'s'"):
        mon.update(bad, T0)
    with pytest.raises(mlmon.DtypeError, match="'s'"):
        mon.update(bad, T0 + timedelta(hours=2))
    with pytest.raises(mlmon.SchemaMismatchError, match="'x'"):
        mon.update({k: v for k, v in good.items() if k != "x"}, T0)
    assert _state(mon) == before


def test_object_labels_count_right_through_the_feature_cache(baseline: mlmon.Baseline) -> None:
    """Fresh (non-interned) label objects every batch, None and NaN, bools, ints, and more distinct
    objects than the cache keeps: the one-call path (which resolves objects through a per-feature cache
    of object addresses) counts what the general path counts."""
    rng = np.random.default_rng(7)
    fast = mlmon.Monitor(baseline, on_error="count")
    general = mlmon.Monitor(baseline, on_error="count")
    for batch_no in range(6):
        n = 9000
        labels = ["a", "b", "c", "zz"]
        values: list[object] = ["".join(["", labels[i % 4]]) for i in rng.integers(0, 4, n)]
        values[::11] = [None] * len(values[::11])
        values[::13] = [float("nan")] * len(values[::13])
        values[::17] = [True] * len(values[::17])
        values[::19] = [int(i) for i in rng.integers(0, 5, len(values[::19]))]
        if batch_no >= 1:  # high cardinality: 22,500 distinct objects, past the cache's bound
            values[::2] = [f"id-{batch_no}-{i}" for i in range(len(values[::2]))]
        batch = {"s": np.array(values, dtype=object), "x": rng.normal(size=n)}
        fast.update(batch, T0)
        general.update(types.MappingProxyType(batch), T0)
        assert _state(fast) == _state(general)


def test_a_string_without_utf8_form_is_named_on_both_paths(baseline: mlmon.Baseline) -> None:
    rng = np.random.default_rng(3)
    kinds = {"x": "float", "n": "int32", "s": "object_surrogates", "u": "unicode", "k": "int32"}
    batch = {name: _column(kind, 6, rng) for name, kind in kinds.items()}
    for data in (batch, types.MappingProxyType(batch)):
        mon = mlmon.Monitor(baseline)
        with pytest.raises(mlmon.DtypeError, match=r"'s'.*surrogate"):
            mon.update(data, T0)
        assert mon.rows == 0
        counting = mlmon.Monitor(baseline, on_error="count")
        counting.update(data, T0)
        assert counting._open.invalid["s"] == 6


PANDAS_KINDS = ["float", "int32", "objects", "unicode", "bool", "category", "datetime", "nullable_int"]
PANDAS_KINDS += ["arrow_str", "arrow_str_mixed", "str", "float32", "int64", "arrow_large_str"]
PANDAS_KINDS += ["arrow_chunked"]
# Categories, unseen labels, a label longer than the 15 bytes of a packed key, the empty string, nulls.
MIXED = np.array(["a", "b", "e", "", "a label longer than sixteen bytes", None, "zz"], dtype=object)


def _pandas_column(kind: str, n: int, rng: np.random.Generator) -> Any:
    import pandas as pd

    if kind == "category":
        return pd.Categorical(LABELS[rng.integers(0, 4, n)])
    if kind == "nullable_int":
        return pd.array(rng.integers(0, 9, n), dtype="Int64")
    if kind == "arrow_str":
        return pd.array([str(v) for v in LABELS[rng.integers(0, 4, n)]], dtype="string[pyarrow]")
    if kind == "arrow_str_mixed":
        return pd.array(list(MIXED[rng.integers(0, len(MIXED), n)]), dtype="string[pyarrow]")
    if kind == "str":  # pandas' default string dtype (Arrow-backed in pandas 3), NaN for missing
        return pd.array(list(MIXED[rng.integers(0, len(MIXED), n)]), dtype="str")
    if kind == "arrow_large_str":
        import pyarrow as pa

        values = pa.array(list(MIXED[rng.integers(0, len(MIXED), n)]), pa.large_string())
        return pd.arrays.ArrowExtensionArray(values)
    if kind == "arrow_chunked":  # a column of several chunks (what pd.concat leaves), one sliced
        import pyarrow as pa

        values = list(MIXED[rng.integers(0, len(MIXED), n + 2)])
        cut = n // 2
        first, second = pa.array(values[: cut + 1], pa.string()), pa.array(values[cut + 1 :], pa.string())
        chunks = [first.slice(1), second.slice(0, n - cut)]
        return pd.array(pa.chunked_array(chunks, pa.string()), dtype="string[pyarrow]")
    if kind == "float32":
        return rng.normal(size=n).astype(np.float32)
    if kind == "int64":
        return rng.integers(-3, 60, n)
    return _column(kind, n, rng)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kinds=st.dictionaries(st.sampled_from(["x", "n", "s", "u", "k", 7]), st.sampled_from(PANDAS_KINDS)),
    n=st.integers(0, 30),
    policy=st.sampled_from(["raise", "count"]),
    seed=st.integers(0, 2**16),
    window=st.sampled_from([None, 7]),
)
def test_pandas_frames_read_from_their_blocks_count_as_the_pandas_adapter(
    baseline: mlmon.Baseline, kinds: dict[Any, str], n: int, policy: Any, seed: int, window: Any
) -> None:
    import pandas as pd

    from mlmon.core import _arrays

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: _pandas_column(kind, n, rng) for name, kind in kinds.items()}, index=range(n))
    fast = mlmon.Monitor(baseline, on_error=policy, window=window)
    general = mlmon.Monitor(baseline, on_error=policy, window=window)
    got = _outcome(fast, frame, T0)
    with mock.patch.object(_arrays, "from_pandas", return_value=None):
        want = _outcome(general, frame, T0)
    # Both refuse or both count (which of two problems a refusal names first may differ: the block
    # path checks the schema before converting a datetime column, the adapter converts first).
    assert (got == "ok") == (want == "ok"), (got, want)
    assert _state(fast) == _state(general), (kinds, policy)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int32"])
def test_a_frame_of_one_2d_block_counts_as_its_columns(
    baseline: mlmon.Baseline, order: str, dtype: str
) -> None:
    """A frame built from one 2-D array is one block whose rows are strided views (``F``) or not: the
    engine reads the block whole, and counts what the per-column dict path counts."""
    import pandas as pd

    rng = np.random.default_rng(3)
    values = np.asarray(rng.normal(size=(50, 3)) * 20, order=order).astype(dtype)
    frame = pd.DataFrame(values, columns=["x", "n", "k"])
    assert len(frame._mgr.blocks) == 1
    fast = mlmon.Monitor(baseline, on_error="count")
    by_dict = mlmon.Monitor(baseline, on_error="count")
    fast.update(frame, T0)
    by_dict.update({name: np.ascontiguousarray(values[:, i]) for i, name in enumerate(["x", "n", "k"])}, T0)
    assert _state(fast) == _state(by_dict)


def test_profile_update_refuses_a_malformed_block_or_strings(baseline: mlmon.Baseline) -> None:
    import pyarrow as pa

    counts = mlmon.Monitor(baseline)._open.counts
    with pytest.raises(mlmon.InputError, match="a block of 2 columns with 1 names"):
        counts.update({}, blocks=[(np.zeros((2, 4)), ["x"])])
    with pytest.raises(mlmon.DtypeError, match="unsupported dtype"):
        counts.update({}, blocks=[(np.zeros((1, 4), dtype=np.float16), ["x"])])
    with pytest.raises(mlmon.DtypeError, match=r"'s'.*Int64 is not a string type"):
        counts.update({}, {"s": pa.chunked_array([[1, 2]])})
    with pytest.raises(mlmon.DtypeError, match="'s': expected Arrow chunks or an Arrow producer"):
        counts.update({}, {"s": 3})
    with pytest.raises(mlmon.InputError, match="'x' is given twice"):
        counts.update({"x": np.zeros(4)}, blocks=[(np.zeros((1, 4)), ["x"])])
    with pytest.raises(mlmon.InputError, match="other columns have"):
        counts.update({"n": np.zeros(3)}, blocks=[(np.zeros((1, 4)), ["x"])])
    assert counts.to_bytes() == mlmon.Monitor(baseline)._open.counts.to_bytes()


def test_a_pyarrow_without_chunked_streams_counts_pandas_strings_from_their_buffers(
    baseline: mlmon.Baseline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before pyarrow 16 a ``ChunkedArray`` has no ``__arrow_c_stream__``: a pandas string column is
    then handed over as its buffers built in Python, with the same counts."""
    import pandas as pd

    from mlmon.core import _arrays

    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"s": _pandas_column("arrow_str_mixed", 40, rng), "x": rng.normal(size=40)})
    streamed = mlmon.Monitor(baseline, on_error="count")
    streamed.update(frame, T0)
    monkeypatch.setattr(_arrays, "_chunked_arrays_stream", lambda: False)
    assert not _arrays.from_pandas(frame, baseline.features).arrow
    buffers = mlmon.Monitor(baseline, on_error="count")
    buffers.update(frame, T0)
    assert _state(buffers) == _state(streamed)
