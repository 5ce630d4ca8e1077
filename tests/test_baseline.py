"""Baseline fitting, kinds, file format and errors."""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np
import pandas as pd
import pytest

import mlmon
from mlmon import _engine
from mlmon.core.baseline import FORMAT_VERSION


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 5000
    return pd.DataFrame(
        {
            "age": rng.normal(40, 9, n),
            "income": rng.lognormal(10, 1, n),
            "plan": rng.choice(["basic", "pro", "team"], n, p=[0.6, 0.3, 0.1]),
            "region": rng.integers(0, 4, n),
            "active": rng.random(n) < 0.7,
        }
    )


def test_fit_infers_kinds_and_overrides(train: pd.DataFrame) -> None:
    b = mlmon.Baseline.fit(train, categorical=["region"], model="churn", version="3")
    kinds = {name: spec.kind for name, spec in b.features.items()}
    assert kinds == {
        "age": "numerical", "income": "numerical", "plan": "categorical", "region": "categorical",
        "active": "categorical",
    }  # fmt: skip
    assert b.n_rows == len(train)
    assert b.features["active"].dtype == "bool"


def test_reference_counts_match_numpy(train: pd.DataFrame) -> None:
    b = mlmon.Baseline.fit(train, bins=8)
    x = train["age"].to_numpy()
    cuts = np.quantile(x, np.linspace(0, 1, 9)[1:-1])
    expected = np.bincount(np.searchsorted(cuts, x, side="right"), minlength=8)
    np.testing.assert_array_equal(b.reference_counts("age"), expected)
    plan = b.profiles["plan"]
    assert isinstance(plan, _engine.CategoryCounts)
    assert plan.categories == ["basic", "pro", "team"]
    counts = train["plan"].value_counts()
    assert plan.counts.tolist() == [counts["basic"], counts["pro"], counts["team"]]


def test_save_load_roundtrip(train: pd.DataFrame, tmp_path: Path) -> None:
    b = mlmon.Baseline.fit(train, feature_importance={"age": 0.7, "plan": 0.3}, model="m", version="1")
    path = tmp_path / "m-1.mlmon"
    b.save(path)
    loaded = mlmon.Baseline.load(path)
    assert loaded.fingerprint == b.fingerprint
    assert loaded.features == b.features
    assert loaded.feature_importance == {"age": 0.7, "plan": 0.3}
    assert (loaded.model, loaded.version, loaded.n_rows) == ("m", "1", len(train))
    assert loaded.created_at == b.created_at
    for name in b.features:
        np.testing.assert_array_equal(loaded.reference_counts(name), b.reference_counts(name))


def test_newer_format_is_refused(train: pd.DataFrame) -> None:
    data = msgspec.msgpack.decode(mlmon.Baseline.fit(train).to_bytes())
    data["format"] = FORMAT_VERSION + 1
    with pytest.raises(mlmon.CodecError, match=f"format version {FORMAT_VERSION + 1}.*upgrade mlmon"):
        mlmon.Baseline.from_bytes(msgspec.msgpack.encode(data))


@pytest.mark.parametrize(
    "data", [b"", b"not msgpack at all", msgspec.msgpack.encode({"kind": "x", "format": 1})]
)
def test_garbage_is_refused(data: bytes) -> None:
    with pytest.raises(mlmon.CodecError, match="not an mlmon baseline"):
        mlmon.Baseline.from_bytes(data)


def test_corrupted_profile_is_refused(train: pd.DataFrame) -> None:
    data = msgspec.msgpack.decode(mlmon.Baseline.fit(train).to_bytes())
    data["profile"] = data["profile"][:-7]
    with pytest.raises(mlmon.CodecError):
        mlmon.Baseline.from_bytes(msgspec.msgpack.encode(data))


def test_errors_name_the_feature(train: pd.DataFrame) -> None:
    with pytest.raises(mlmon.SchemaMismatchError, match="nope"):
        mlmon.Baseline.fit(train, categorical=["nope"])
    with pytest.raises(mlmon.InputError, match="'empty'"):
        mlmon.Baseline.fit({"empty": np.full(10, np.nan)})
    with pytest.raises(mlmon.DtypeError, match="'plan'"):
        mlmon.Baseline.fit(train, numerical=["plan"])
    with pytest.raises(mlmon.DtypeError, match="'when'"):
        mlmon.Baseline.fit(pd.DataFrame({"when": pd.to_datetime(["2024-01-01"] * 3)}))
    with pytest.raises(mlmon.SchemaMismatchError, match="feature_importance"):
        mlmon.Baseline.fit(train, feature_importance={"ghost": 1.0})
    with pytest.raises(mlmon.DtypeError, match="unsupported input type"):
        mlmon.Baseline.fit([1, 2, 3])


def test_exclude_and_features(train: pd.DataFrame) -> None:
    assert list(mlmon.Baseline.fit(train, exclude=["region"]).features) == ["age", "income", "plan", "active"]
    assert list(mlmon.Baseline.fit(train, features=["plan", "age"]).features) == ["plan", "age"]


def test_large_fit_equals_fitting_each_column_alone() -> None:
    # Above the threads threshold the numeric columns are fitted in one engine call (fit_numeric)
    # beside the categorical ones: the same profiles as one column at a time.
    rng = np.random.default_rng(11)
    n = 120_000
    data = {
        "x": rng.normal(size=n),
        "i": rng.integers(0, 50, size=n),
        "plan": rng.choice(["a", "b", "c"], size=n),
        "f32": rng.random(n).astype(np.float32),
        "code": rng.integers(0, 4, size=n),
    }
    b = mlmon.Baseline.fit(data, categorical=["code"])
    assert [f.kind for f in b.features.values()] == ["numerical"] * 2 + [
        "categorical",
        "numerical",
        "categorical",
    ]
    for name in ("x", "i", "f32"):
        alone = _engine.NumericHistogram(_engine.BinEdges.quantile(data[name], 10))
        alone.update(data[name])
        assert b.profiles[name] == alone, name
    small = mlmon.Baseline.fit({k: v[:1000] for k, v in data.items()}, categorical=["code"])
    assert list(small.features) == list(b.features)


def test_large_fit_names_the_feature_that_cannot_be_fitted() -> None:
    n = 300_000
    data = {"ok": np.arange(n, dtype=np.float64), "empty": np.full(n, np.nan)}
    with pytest.raises(mlmon.InputError, match="feature 'empty'"):
        mlmon.Baseline.fit(data)
