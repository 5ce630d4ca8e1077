"""The typing rule of Baseline.fit and batch.fit_baseline (issue 17 item 5): categorical=None infers
kinds from dtypes, categorical=[] declares there is no categorical feature."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import mlmon
import mlmon.batch
from mlmon.cli import main

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    return {
        "x": rng.normal(size=600),
        "code": rng.integers(0, 4, 600),
        "plan": rng.choice(["a", "b"], 600),
    }


def kinds(b: mlmon.Baseline) -> dict[str, str]:
    return {f.name: f.kind for f in b.features.values()}


def test_none_infers_kinds_from_dtypes() -> None:
    assert kinds(mlmon.Baseline.fit(data())) == {"x": "numerical", "code": "numerical", "plan": "categorical"}
    listed = mlmon.Baseline.fit(data(), categorical=["code"])
    assert kinds(listed) == {"x": "numerical", "code": "categorical", "plan": "categorical"}


def test_empty_list_refuses_string_columns() -> None:
    with pytest.raises(mlmon.DtypeError, match=r"feature 'plan': holds string values, but categorical=\[\]"):
        mlmon.Baseline.fit(data(), categorical=[])
    numbers = {k: v for k, v in data().items() if k != "plan"}
    assert set(kinds(mlmon.Baseline.fit(numbers, categorical=[])).values()) == {"numerical"}


def test_a_string_is_not_a_list_of_names() -> None:
    with pytest.raises(mlmon.InputError, match="list of feature names"):
        mlmon.Baseline.fit(data(), categorical="plan")


def test_batch_fit_follows_the_same_rule() -> None:
    table = pa.table(data())
    fitted = mlmon.batch.fit_baseline(table, progress=False)
    assert kinds(fitted) == kinds(mlmon.Baseline.fit(data()))
    with pytest.raises(mlmon.DtypeError, match=r"feature 'plan'.*categorical=\[\]"):
        mlmon.batch.fit_baseline(table, categorical=[], progress=False)


def test_cli_categorical_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path
    pq.write_table(pa.table(data()), d / "train.parquet")
    assert main(["baseline", "fit", str(d / "train.parquet"), "-o", str(d / "a.mlmon"), "-q"]) == 0
    assert kinds(mlmon.Baseline.load(d / "a.mlmon"))["plan"] == "categorical"
    args = ["baseline", "fit", str(d / "train.parquet"), "-o", str(d / "b.mlmon"), "-q", "--categorical"]
    assert main([*args, "code"]) == 0
    assert kinds(mlmon.Baseline.load(d / "b.mlmon"))["code"] == "categorical"
    assert main([*args, ""]) == 2
    assert "feature 'plan': holds string values, but categorical=[]" in capsys.readouterr().err
