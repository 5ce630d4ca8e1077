"""Every input type gives the same report for the same data, and schema drift is counted, not raised."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import mlmon

N = 3000


def make_columns(seed: int, shift: float = 0.0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1, N)
    x[rng.random(N) < 0.02] = np.nan
    plan = rng.choice(np.array(["a", "b", "c", "d"], dtype=object), N, p=[0.4, 0.3, 0.2, 0.1])
    plan[rng.random(N) < 0.03] = None
    if shift:
        plan[:100] = "novel"
    return {
        "x": x,
        "y": rng.exponential(2 + shift, N),
        "n": rng.integers(0, 50, N).astype(np.int64),
        "plan": plan,
        "flag": rng.random(N) < 0.3 + shift / 10,
    }


def as_pandas(cols: dict[str, np.ndarray]) -> Any:
    return pd.DataFrame({k: pd.Series(v, dtype=object) if k == "plan" else v for k, v in cols.items()})


def as_pandas_arrow_strings(cols: dict[str, np.ndarray]) -> Any:
    return pd.DataFrame({k: pd.Series(v, dtype="str") if k == "plan" else v for k, v in cols.items()})


def as_pandas_categorical(cols: dict[str, np.ndarray]) -> Any:
    df = as_pandas(cols)
    df["plan"] = df["plan"].astype("category")
    df["n"] = df["n"].astype("Int64")
    return df


def as_polars(cols: dict[str, np.ndarray]) -> Any:
    return pl.DataFrame({k: v.tolist() if k == "plan" else v for k, v in cols.items()})


def as_polars_categorical(cols: dict[str, np.ndarray]) -> Any:
    return as_polars(cols).with_columns(pl.col("plan").cast(pl.Categorical))


def as_arrow(cols: dict[str, np.ndarray]) -> Any:
    return pa.table({k: pa.array(v, from_pandas=True) for k, v in cols.items()})


def as_arrow_chunked_dictionary(cols: dict[str, np.ndarray]) -> Any:
    t = as_arrow(cols)
    half = t.num_rows // 2
    t = pa.concat_tables([t.slice(0, half), t.slice(half)])
    idx = t.schema.get_field_index("plan")
    return t.set_column(idx, "plan", t.column("plan").dictionary_encode())


def as_record_batch(cols: dict[str, np.ndarray]) -> Any:
    return as_arrow(cols).to_batches()[0]


def as_dict_arrays(cols: dict[str, np.ndarray]) -> Any:
    return dict(cols)


def as_dict_lists(cols: dict[str, np.ndarray]) -> Any:
    return {
        k: [None if isinstance(x, float) and np.isnan(x) else x for x in v.tolist()] for k, v in cols.items()
    }


CONVERTERS: list[Callable[[dict[str, np.ndarray]], Any]] = [
    as_pandas, as_pandas_arrow_strings, as_pandas_categorical, as_polars, as_polars_categorical, as_arrow,
    as_arrow_chunked_dictionary, as_record_batch, as_dict_arrays, as_dict_lists,
]  # fmt: skip

FIELDS = ("score", "chi2", "dof", "p_value", "js_distance", "count", "missing_rate", "invalid_rate",
          "out_of_range_rate", "unseen_rate", "severity", "noise_floor", "kind")  # fmt: skip


def summary(report: mlmon.DriftReport) -> dict[str, tuple[Any, ...]]:
    return {name: tuple(getattr(f, k) for k in FIELDS) for name, f in report.features.items()}


def run(convert: Callable[[dict[str, np.ndarray]], Any]) -> mlmon.DriftReport:
    baseline = mlmon.Baseline.fit(convert(make_columns(1)), categorical=["n"])
    monitor = mlmon.Monitor(baseline)
    current = make_columns(2, shift=0.3)
    monitor.update(convert({k: v[: N // 2] for k, v in current.items()}))
    monitor.update(convert({k: v[N // 2 :] for k, v in current.items()}))
    return monitor.report()


@pytest.fixture(scope="module")
def reference_summary() -> dict[str, tuple[Any, ...]]:
    return summary(run(as_pandas))


@pytest.mark.parametrize("convert", CONVERTERS, ids=lambda c: c.__name__)
def test_same_report_for_every_input(convert: Callable[..., Any], reference_summary: dict[str, Any]) -> None:
    got = summary(run(convert))
    assert got.keys() == reference_summary.keys()
    for name, values in reference_summary.items():
        for field, want, have in zip(FIELDS, values, got[name], strict=True):
            if isinstance(want, float):
                assert have == pytest.approx(want, rel=1e-12), (name, field)
            else:
                assert have == want, (name, field)


def test_reference_report_is_sensible(reference_summary: dict[str, tuple[Any, ...]]) -> None:
    report = run(as_pandas)
    plan = report.features["plan"]
    assert plan.unseen_rate == pytest.approx(100 / N)
    assert plan.missing_rate > 0.01
    assert report.features["x"].missing_rate == pytest.approx(np.isnan(make_columns(2, 0.3)["x"]).mean())
    assert report.features["flag"].labels == ["False", "True", "(other)", "(unseen)"]


def test_2d_numpy_matches_frames() -> None:
    rng = np.random.default_rng(5)
    ref, cur = rng.normal(size=(4000, 3)), rng.normal(0.2, 1, size=(3000, 3))
    names = ["a", "b", "c"]
    outs = []
    for to_input in (lambda a: a, lambda a: pd.DataFrame(a, columns=names), lambda a: np.asfortranarray(a)):
        base = mlmon.Baseline.fit(to_input(ref), feature_names=names)
        mon = mlmon.Monitor(base)
        mon.update(to_input(cur))
        outs.append(summary(mon.report()))
    assert outs[0] == outs[1] == outs[2]


def test_schema_drift_is_counted_with_on_error_count() -> None:
    base = mlmon.Baseline.fit(as_pandas(make_columns(1)))
    mon = mlmon.Monitor(base, on_error="count")
    cur = as_pandas(make_columns(2))
    cur["y"] = cur["y"].astype(str)  # a numerical column arriving as strings
    cur["extra"] = 1
    mon.update(cur.drop(columns=["flag"]))
    report = mon.report()
    assert report.missing_columns == ["flag"]
    assert report.unexpected_columns == ["extra"]
    assert report.features["y"].invalid_rate == 1.0
    assert report.features["y"].quality_severity == "critical"
    assert report.features["flag"].missing_rate == 1.0
    assert report.features["flag"].severity == "insufficient_data"


def test_categorical_feature_sent_as_fractions_is_invalid() -> None:
    base = mlmon.Baseline.fit({"k": np.arange(200) % 4}, categorical=["k"])
    mon = mlmon.Monitor(base)
    mon.update({"k": np.array([0.5, 1.0, np.nan, 2.0])}, on_error="count")
    f = mon.report().features["k"]
    assert (f.invalid_rate, f.missing_rate) == (0.75, 0.25)


def test_bad_inputs_raise_clear_errors() -> None:
    base = mlmon.Baseline.fit({"x": np.arange(100.0)})
    mon = mlmon.Monitor(base)
    with pytest.raises(mlmon.InputError, match="'b'"):
        mon.update({"x": np.arange(3.0), "b": np.arange(4.0)})
    with pytest.raises(mlmon.DtypeError, match="unsupported input type"):
        mon.update("x")
    with pytest.raises(mlmon.InputError, match="feature_names"):
        mon.update(np.zeros((3, 2)))


def test_nullable_floats_from_polars_and_arrow_match_nan() -> None:
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    rng = np.random.default_rng(5)
    x = rng.normal(size=400_000)
    x[rng.random(x.size) < 0.05] = np.nan
    base = mlmon.Baseline.fit({"x": x})
    want = mlmon.Monitor(base)
    want.update({"x": x[::-1]})
    nulls = pa.array(x[::-1], from_pandas=True)
    chunked = pa.chunked_array([nulls[:1234], nulls[1234:]])
    for frame in (
        pl.DataFrame({"x": x[::-1]}).fill_nan(None),
        pa.table({"x": nulls}),
        pa.table({"x": chunked}),
    ):
        got = mlmon.Monitor(base)
        got.update(frame)
        assert got.report().features["x"].score == want.report().features["x"].score
        assert got.report().features["x"].missing_rate == want.report().features["x"].missing_rate
    sliced = mlmon.Baseline.fit(pa.table({"x": nulls}).slice(1000))
    assert sliced.profiles["x"] == mlmon.Baseline.fit({"x": x[::-1][1000:]}).profiles["x"]
