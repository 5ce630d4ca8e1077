"""Windows, merge and snapshots: exact counts, the same as one pass."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlmon
from mlmon import _engine

N = 2000


def data(seed: int, n: int = N) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x[::37] = np.nan
    return {"x": x, "c": rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1])}


@pytest.fixture(scope="module")
def baseline() -> mlmon.Baseline:
    return mlmon.Baseline.fit(data(0))


def take(cols: dict[str, np.ndarray], start: int, stop: int) -> dict[str, np.ndarray]:
    return {k: v[start:stop] for k, v in cols.items()}


def counts(report: mlmon.DriftReport) -> dict[str, Any]:
    return {n: (f.count, f.missing_rate, f.score, f.current_shares) for n, f in report.features.items()}


def profiles_equal(a: mlmon.Monitor, b: mlmon.Monitor, cumulative: bool = True) -> None:
    ra, rb = a.report(cumulative=cumulative), b.report(cumulative=cumulative)
    assert ra.current_rows == rb.current_rows
    assert counts(ra) == counts(rb)


@given(st.lists(st.integers(0, N), max_size=6))
@settings(max_examples=30, deadline=None)
def test_split_batches_equal_one_pass(baseline: mlmon.Baseline, cuts: list[int]) -> None:
    cur = data(1)
    one = mlmon.Monitor(baseline)
    one.update(cur)
    many = mlmon.Monitor(baseline)
    bounds = [0, *sorted(cuts), N]
    for start, stop in itertools.pairwise(bounds):
        many.update(take(cur, start, stop))
    profiles_equal(one, many, cumulative=False)


@given(st.integers(1, 900), st.lists(st.integers(0, N), max_size=4))
@settings(max_examples=30, deadline=None)
def test_row_windows(baseline: mlmon.Baseline, size: int, cuts: list[int]) -> None:
    cur = data(2)
    mon = mlmon.Monitor(baseline, window=size)
    bounds = [0, *sorted(cuts), N]
    for start, stop in itertools.pairwise(bounds):
        mon.update(take(cur, start, stop))
    closed = mon.windows()
    assert [w.current_rows for w in closed] == [size] * (N // size)
    assert [w.row_start for w in closed] == [i * size for i in range(N // size)]
    assert mon.report().current_rows == N % size
    # each closed window equals a monitor fed exactly its rows
    last = closed[-1]
    ref = mlmon.Monitor(baseline)
    ref.update(take(cur, last.row_start, last.row_end))
    assert counts(last) == counts(ref.report())
    one = mlmon.Monitor(baseline)
    one.update(cur)
    profiles_equal(one, mon)


def test_time_windows_with_explicit_timestamps(baseline: mlmon.Baseline) -> None:
    mon = mlmon.Monitor(baseline, window="1h")
    t0 = datetime(2024, 5, 1, 10, 15, tzinfo=timezone.utc)
    for i in range(5):
        mon.update(take(data(3), i * 400, (i + 1) * 400), timestamp=t0 + timedelta(minutes=20 * i))
    # 10:15, 10:35, 10:55 | 11:15, 11:35
    closed = mon.windows()
    assert len(closed) == 1
    assert closed[0].current_rows == 1200
    assert closed[0].window_start == datetime(2024, 5, 1, 10, tzinfo=timezone.utc)
    assert closed[0].window_end == datetime(2024, 5, 1, 11, tzinfo=timezone.utc)
    assert mon.report().current_rows == 800
    mon.update(take(data(3), 0, 10), timestamp=t0.timestamp())  # late data lands in the open window
    assert mon.report().current_rows == 810
    assert mon.rows == 2010


def test_window_spec_errors(baseline: mlmon.Baseline) -> None:
    for bad in (0, "1 fortnight", -5, "0h", True):
        with pytest.raises(mlmon.InputError):
            mlmon.Monitor(baseline, window=bad)
    with pytest.raises(mlmon.InputError):
        mlmon.Monitor(baseline).update(data(1), timestamp="yesterday")


@given(st.lists(st.integers(0, 3), min_size=1, max_size=8))
@settings(max_examples=25, deadline=None)
def test_merge_workers_is_exact(baseline: mlmon.Baseline, assignment: list[int]) -> None:
    cur = data(4)
    chunk = N // len(assignment)
    workers = [mlmon.Monitor(baseline) for _ in range(4)]
    for i, w in enumerate(assignment):
        workers[w].update(take(cur, i * chunk, (i + 1) * chunk))
    total = mlmon.Monitor(baseline)
    total.update(take(cur, 0, chunk * len(assignment)))
    merged = mlmon.Monitor(baseline)
    for w in reversed(workers):
        merged.merge(mlmon.Monitor.from_snapshot(baseline, w.snapshot()))
    profiles_equal(total, merged)


def test_merge_time_windows_by_interval(baseline: mlmon.Baseline) -> None:
    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    a, b = mlmon.Monitor(baseline, window="1h"), mlmon.Monitor(baseline, window="1h")
    a.update(take(data(5), 0, 100), timestamp=t0)
    a.update(take(data(5), 100, 300), timestamp=t0 + timedelta(hours=1))
    b.update(take(data(5), 300, 600), timestamp=t0 + timedelta(minutes=30))
    a.merge(b)
    assert [w.current_rows for w in a.windows()] == [400]
    assert a.report().current_rows == 200


def test_snapshot_roundtrip_keeps_windows(baseline: mlmon.Baseline) -> None:
    mon = mlmon.Monitor(baseline, window=700)
    mon.update(data(6))
    back = mlmon.Monitor.from_snapshot(baseline, mon.snapshot())
    assert [counts(w) for w in back.windows()] == [counts(w) for w in mon.windows()]
    assert counts(back.report()) == counts(mon.report())
    back.update(take(data(7), 0, 100))
    assert len(back.windows()) == 3


def test_snapshot_and_merge_refuse_other_baselines(baseline: mlmon.Baseline) -> None:
    other = mlmon.Baseline.fit(data(9))
    snap = mlmon.Monitor(baseline).snapshot()
    with pytest.raises(mlmon.SchemaMismatchError):
        mlmon.Monitor.from_snapshot(other, snap)
    with pytest.raises(mlmon.SchemaMismatchError):
        mlmon.Monitor(baseline).merge(mlmon.Monitor(other))
    with pytest.raises(mlmon.SchemaMismatchError):
        mlmon.Monitor(baseline).merge(mlmon.Monitor(baseline, window=10))
    with pytest.raises(mlmon.CodecError):
        mlmon.Monitor.from_snapshot(baseline, b"junk")


def test_max_windows_keeps_cumulative_exact(baseline: mlmon.Baseline) -> None:
    mon = mlmon.Monitor(baseline, window=100, max_windows=3)
    mon.update(data(8))
    assert len(mon.windows()) == 3
    one = mlmon.Monitor(baseline)
    one.update(data(8))
    profiles_equal(one, mon)


def test_counts_match_numpy(baseline: mlmon.Baseline) -> None:
    cur = data(10)
    mon = mlmon.Monitor(baseline)
    mon.update(cur)
    f = mon.report().features["x"]
    hist = baseline.profiles["x"]
    assert isinstance(hist, _engine.NumericHistogram)
    x = cur["x"][~np.isnan(cur["x"])]
    expected = np.bincount(np.searchsorted(hist.edges.cuts, x, side="right"), minlength=hist.edges.n_bins)
    np.testing.assert_allclose(f.current_shares, (expected / len(x)).round(6))
    assert f.count == N
    assert f.missing_rate == pytest.approx(np.isnan(cur["x"]).mean())


def test_feature_threshold_override(baseline: mlmon.Baseline) -> None:
    rng = np.random.default_rng(11)
    cur = {
        "x": rng.normal(0.35, 1, 20_000),
        "c": rng.choice(["a", "b", "c", "d"], 20_000, p=[0.4, 0.3, 0.2, 0.1]),
    }
    default = mlmon.Monitor(baseline)
    strict = mlmon.Monitor(baseline, mlmon.Thresholds(features={"x": mlmon.FeatureThresholds(0.05, 0.1)}))
    for m in (default, strict):
        m.update(cur)
    assert default.report().features["x"].severity == "ok"
    assert strict.report().features["x"].severity == "critical"
    assert strict.report().features["c"].severity == "ok"
