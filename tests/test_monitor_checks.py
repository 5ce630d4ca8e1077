"""Monitor.update refuses a batch that does not match the baseline unless on_error="count" (issue 17)."""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest

import mlmon


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(17)
    n = 2000
    return pd.DataFrame({
        "carat": rng.gamma(2.0, 0.4, n),
        "price": rng.integers(300, 19_000, n),
        "cut": rng.choice(["Fair", "Good", "Ideal"], n),
        "clarity": rng.integers(0, 8, n),
    })  # fmt: skip


@pytest.fixture(scope="module")
def baseline(frame: pd.DataFrame) -> mlmon.Baseline:
    return mlmon.Baseline.fit(frame, categorical=["cut", "clarity"])


def test_strings_in_a_numerical_feature_raise_naming_it(
    baseline: mlmon.Baseline, frame: pd.DataFrame
) -> None:
    mon = mlmon.Monitor(baseline)
    with pytest.raises(mlmon.DtypeError, match=r"feature 'carat': expected numbers, found strings \('abc'\)"):
        mon.update(frame.assign(carat="abc"))
    assert mon.rows == 0  # refused before anything was counted


def test_a_missing_column_raises_naming_it(baseline: mlmon.Baseline, frame: pd.DataFrame) -> None:
    with pytest.raises(mlmon.SchemaMismatchError, match="missing columns: 'price'"):
        mlmon.Monitor(baseline).update(frame.drop(columns=["price"]))


def test_every_bad_feature_is_named(baseline: mlmon.Baseline, frame: pd.DataFrame) -> None:
    bad = frame.assign(carat="abc", clarity=frame["clarity"] + 0.5)
    with pytest.raises(mlmon.DtypeError) as info:
        mlmon.Monitor(baseline).update(bad)
    message = str(info.value)
    assert "feature 'carat': expected numbers, found strings ('abc')" in message
    assert "feature 'clarity': expected categories (int64), found fractional numbers (" in message
    assert 'on_error="count"' in message


@pytest.mark.parametrize("library", ["polars", "pyarrow"])
def test_arrow_strings_are_named_with_an_example(
    baseline: mlmon.Baseline, frame: pd.DataFrame, library: str
) -> None:
    lib = pytest.importorskip(library)
    bad = frame.assign(carat=["1.2x"] * len(frame))
    data = lib.from_pandas(bad) if library == "polars" else lib.Table.from_pandas(bad)
    with pytest.raises(
        mlmon.DtypeError, match=r"feature 'carat': expected numbers, found strings \('1.2x'\)"
    ):
        mlmon.Monitor(baseline).update(data)


def test_booleans_and_objects_in_a_numerical_feature_raise(
    baseline: mlmon.Baseline, frame: pd.DataFrame
) -> None:
    mon = mlmon.Monitor(baseline)
    with pytest.raises(mlmon.DtypeError, match="feature 'price': expected numbers, found booleans"):
        mon.update(frame.assign(price=True))
    mixed = frame["carat"].astype(object)
    mixed[5] = "n/a"
    with pytest.raises(mlmon.DtypeError, match=r"found strings \('n/a'\)"):
        mon.update(frame.assign(carat=mixed))


def test_on_error_count_counts_schema_drift(baseline: mlmon.Baseline, frame: pd.DataFrame) -> None:
    per_monitor = mlmon.Monitor(baseline, on_error="count")
    per_monitor.update(frame.assign(carat="abc").drop(columns=["price"]))
    per_call = mlmon.Monitor(baseline)
    per_call.update(frame.assign(carat="abc").drop(columns=["price"]), on_error="count")
    for mon in (per_monitor, per_call):
        report = mon.report()
        assert report.features["carat"].invalid_rate == 1.0
        assert report.missing_columns == ["price"]


def test_valid_batches_extra_columns_and_missing_values_pass(
    baseline: mlmon.Baseline, frame: pd.DataFrame
) -> None:
    mon = mlmon.Monitor(baseline)
    mon.update(frame.assign(extra="id"))
    mon.update(frame.assign(carat=np.nan, clarity=frame["clarity"].astype(float)))
    mon.update(frame.iloc[:0])
    assert mon.rows == 2 * len(frame)
    assert mon.report().unexpected_columns == ["extra"]


def test_a_bad_on_error_is_refused(baseline: mlmon.Baseline, frame: pd.DataFrame) -> None:
    with pytest.raises(mlmon.InputError, match="on_error"):
        mlmon.Monitor(baseline, on_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(mlmon.InputError, match="on_error"):
        mlmon.Monitor(baseline).update(frame, on_error="skip")  # type: ignore[arg-type]


def test_a_restored_monitor_keeps_its_policy(baseline: mlmon.Baseline, frame: pd.DataFrame) -> None:
    snap = mlmon.Monitor(baseline).snapshot()
    with pytest.raises(mlmon.SchemaMismatchError, match="'price'"):
        mlmon.Monitor.from_snapshot(baseline, snap).update(frame.drop(columns=["price"]))
    counting = mlmon.Monitor.from_snapshot(baseline, snap, on_error="count")
    counting.update(frame.drop(columns=["price"]))
    assert counting.report().missing_columns == ["price"]


@pytest.mark.parametrize("fast", [True, False], ids=["dict", "general path"])
def test_object_categories_are_checked_on_both_paths(baseline: mlmon.Baseline, fast: bool) -> None:
    def batch(cut: list[object]) -> dict[str, object]:
        n = len(cut)
        columns = {
            "carat": np.linspace(0.2, 2.0, n),
            "price": np.arange(n) + 300,
            "cut": np.array(cut, dtype=object),
            "clarity": np.arange(n) % 8,
        }
        # A read-only mapping is not a dict: it takes the per-feature adapters, not the one-call path.
        return columns if fast else types.MappingProxyType(columns)  # type: ignore[return-value]

    mon = mlmon.Monitor(baseline)
    mon.update(batch([]))  # an empty object column holds nothing of the wrong type
    mon.update(batch(["Fair", None, "Ideal", "Good"]))
    assert mon.rows == 4
    with pytest.raises(mlmon.DtypeError, match=r"feature 'cut'.*1\.5"):
        mon.update(batch(["Fair", 1.5, "Good"]))
    assert mon.rows == 4
