"""mlmon.batch.fit_baseline: streaming baselines whose categories and counts are exact and whose numerical
edges are within the sketch's rank-error bound of numpy's exact quantiles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import mlmon
import mlmon.batch
from mlmon import _engine
from mlmon.exceptions import DtypeError, InputError, SchemaMismatchError


def test_matches_an_in_memory_fit(parquet_dir: Path, table: pa.Table) -> None:
    streamed = mlmon.batch.fit_baseline(parquet_dir, exclude=["ts"], batch_size=5_000, model="m", version="1",
                                        progress=False)  # fmt: skip
    exact = mlmon.Baseline.fit(table.drop_columns(["ts"]), model="m", version="1")
    assert streamed.features == exact.features
    assert streamed.n_rows == exact.n_rows == table.num_rows
    for name in ("plan", "active"):
        assert streamed.profiles[name] == exact.profiles[name]
    eps = _engine.QuantileSketch.epsilon_for(200)
    for name in ("x", "age"):
        values = table[name].to_numpy(zero_copy_only=False).astype(np.float64)
        finite = np.sort(values[np.isfinite(values)])
        hist = streamed.profiles[name]
        assert isinstance(hist, _engine.NumericHistogram)
        edges = hist.edges
        assert (edges.lower, edges.upper) == (finite[0], finite[-1])
        # Each cut sits within eps of the rank its probability asks for.
        ranks_lo = np.searchsorted(finite, edges.cuts, side="left") / len(finite)
        ranks_hi = np.searchsorted(finite, edges.cuts, side="right") / len(finite)
        wanted = np.array([p for p in np.linspace(0, 1, 11)[1:-1]])
        if name == "x":
            assert len(edges.cuts) == 9
            assert np.all((wanted >= ranks_lo - eps) & (wanted <= ranks_hi + eps))
        recount = _engine.NumericHistogram(edges)
        recount.update(values)
        assert hist == recount  # counts on the fitted edges are exact
        assert (hist.counts > 0).all()


def test_streamed_baseline_profiles_like_the_exact_one(parquet_dir: Path, table: pa.Table) -> None:
    early = table.slice(0, 30_000).drop_columns(["ts"])
    streamed = mlmon.batch.fit_baseline(early, progress=False)
    exact = mlmon.Baseline.fit(early)
    by_sketch = mlmon.batch.profile(parquet_dir, streamed, progress=False)
    by_exact = mlmon.batch.profile(parquet_dir, exact, progress=False)
    assert by_sketch.rows == table.num_rows
    for name in ("x", "age", "plan"):
        assert [r.features[name].severity for r in by_sketch] == [r.features[name].severity for r in by_exact]
        assert [r.features[name].score for r in by_sketch] == pytest.approx(
            [r.features[name].score for r in by_exact], abs=0.02
        )


def test_kinds_and_declarations(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 3000
    codes = rng.integers(0, 4, n)
    t = pa.table({
        "code": codes, "fcode": pa.array(np.where(codes == 3, np.nan, codes.astype(float))),
        "dict": pa.array(rng.choice(["a", "b"], n)).dictionary_encode(), "flag": rng.random(n) < 0.5,
        "when": pa.array(np.zeros(n, "datetime64[s]")), "v": rng.normal(size=n),
    })  # fmt: skip
    b = mlmon.batch.fit_baseline(t, categorical=["code", "fcode"], progress=False)
    kinds = {f.name: (f.kind, f.dtype) for f in b.features.values()}
    assert kinds == {"code": ("categorical", "int64"), "fcode": ("categorical", "float64"),
                     "dict": ("categorical", "category"), "flag": ("categorical", "bool"),
                     "v": ("numerical", "float64")}  # fmt: skip
    exact = mlmon.Baseline.fit(t.drop_columns(["when"]), categorical=["code", "fcode"])
    for name in ("code", "fcode", "dict", "flag"):
        assert b.profiles[name] == exact.profiles[name], name
    with pytest.raises(DtypeError, match="feature 'dict': declared numerical"):
        mlmon.batch.fit_baseline(t, numerical=["dict"], progress=False)
    with pytest.raises(SchemaMismatchError, match="'nope'"):
        mlmon.batch.fit_baseline(t, features=["v", "nope"], progress=False)
    with pytest.raises(DtypeError, match="feature 'when': unsupported type"):
        mlmon.batch.fit_baseline(t, features=["when"], progress=False)
    with pytest.raises(InputError, match="both categorical and numerical"):
        mlmon.batch.fit_baseline(t, categorical=["v"], numerical=["v"], progress=False)
    frac = pa.table({"f": [0.5, 1.0]})
    with pytest.raises(DtypeError, match="feature 'f': fractional"):
        mlmon.batch.fit_baseline(frac, categorical=["f"], progress=False)
    empty = pa.table({"v": pa.array([np.nan, np.nan])})
    with pytest.raises(InputError, match=r"feature 'v'.*no finite values"):
        mlmon.batch.fit_baseline(empty, progress=False)
    with pytest.raises(InputError, match=r"unknown fit_baseline arguments: \['bin'\]"):
        mlmon.batch.fit_baseline(t, bin=5, progress=False)  # type: ignore[call-arg]


def test_saved_and_loaded(tmp_path: Path, table: pa.Table) -> None:
    b = mlmon.batch.fit_baseline(table, exclude=["ts"], progress=False)
    b.save(tmp_path / "b.mlmon")
    assert mlmon.Baseline.load(tmp_path / "b.mlmon").fingerprint == b.fingerprint
