"""The mlmon command: fit, drift, exit codes, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlmon
from mlmon.cli import main

N = 4000


def frame(seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40 + shift, 9, N),
            "income": rng.lognormal(10, 1, N),
            "plan": rng.choice(["basic", "pro", "team"], N),
            "region": rng.integers(0, 4, N),
            "active": rng.random(N) < 0.6,
        }
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("cli")
    out = {"train": d / "train.parquet", "same_csv": d / "same.csv", "drifted": d / "drifted.parquet"}
    frame(0).to_parquet(out["train"])
    frame(1).to_csv(out["same_csv"], index=False)
    frame(2, shift=12).to_parquet(out["drifted"])
    out["baseline"] = d / "churn.mlmon"
    assert main(["baseline", "fit", str(out["train"]), "-o", str(out["baseline"]), "--categorical", "region",
                 "--model", "churn", "--version", "3", "-q"]) == 0  # fmt: skip
    return out


def test_fit_writes_a_baseline(files: dict[str, Path]) -> None:
    b = mlmon.Baseline.load(files["baseline"])
    assert (b.model, b.version, b.n_rows) == ("churn", "3", N)
    assert b.features["region"].kind == "categorical"


def test_no_drift_exits_0_and_writes_reports(files: dict[str, Path], tmp_path: Path) -> None:
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    code = main(["drift", str(files["baseline"]), str(files["same_csv"]), "--json", str(out_json),
                 "--html", str(out_html), "--fail-on", "warning", "-q"])  # fmt: skip
    assert code == 0
    report = mlmon.DriftReport.from_json(out_json.read_text())
    assert report.severity == "ok"
    assert report.current_rows == N
    assert report.features["region"].count == N
    assert "churn" in out_html.read_text()


def test_drift_exits_1(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drift", str(files["baseline"]), str(files["drifted"])]) == 1
    assert "age" in capsys.readouterr().out
    assert main(["drift", str(files["baseline"]), str(files["drifted"]), "--fail-on", "never", "-q"]) == 0


def test_csv_in_chunks_matches_whole_file(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.csv as pacsv

    real = pacsv.open_csv
    monkeypatch.setattr(
        pacsv, "open_csv", lambda f, **kw: real(f, read_options=pacsv.ReadOptions(block_size=4096), **kw)
    )
    out = tmp_path / "chunked.json"
    assert main(["drift", str(files["baseline"]), str(files["same_csv"]), "--json", str(out), "-q"]) == 0
    chunked = json.loads(out.read_text())
    monitor = mlmon.Monitor(mlmon.Baseline.load(files["baseline"]))
    monitor.update(pd.read_csv(files["same_csv"]))
    whole = monitor.report()
    for name, f in whole.features.items():
        assert chunked["features"][name]["score"] == pytest.approx(f.score, rel=1e-12)
        assert chunked["features"][name]["count"] == f.count


def test_wrongly_typed_csv_column_is_counted_invalid(files: dict[str, Path], tmp_path: Path) -> None:
    bad = frame(3)
    bad["income"] = bad["income"].astype(str)
    bad.loc[::3, "income"] = "unknown"
    path, out = tmp_path / "bad.csv", tmp_path / "bad.json"
    bad.to_csv(path, index=False)
    assert (
        main(["drift", str(files["baseline"]), str(path), "--json", str(out), "--fail-on", "never", "-q"])
        == 0
    )
    income = json.loads(out.read_text())["features"]["income"]
    assert income["invalid_rate"] == 1.0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.parquet", "no such file"),
        (lambda d: (d / "x.txt").write_text("hello") and d / "x.txt", "unknown format"),
        (lambda d: (d / "x.parquet").write_bytes(b"garbage") and d / "x.parquet", "cannot read"),
        (
            lambda d: pd.DataFrame({"other": [1, 2]}).to_parquet(d / "o.parquet") or d / "o.parquet",
            "none of the",
        ),
    ],
)
def test_helpful_one_line_errors(files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 make: object, message: str) -> None:  # fmt: skip
    path = make(tmp_path)  # type: ignore[operator]
    assert main(["drift", str(files["baseline"]), str(path), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1
    assert err.startswith("mlmon: error:")


def test_bad_baseline_file(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drift", str(files["same_csv"]), str(files["same_csv"]), "-q"]) == 2
    assert "not an mlmon baseline" in capsys.readouterr().err
    assert main(["drift", "nope.mlmon", str(files["same_csv"]), "-q"]) == 2
    assert main(["baseline", "fit", "nope.csv", "-o", "x.mlmon"]) == 2


def test_a_command_whose_extra_is_missing_says_what_to_install() -> None:
    import argparse

    from mlmon.cli import CliError, _add_optional

    parser = argparse.ArgumentParser()
    _add_optional(parser, "serve", "service", "mlmon.no_such_module", "run_serve")
    args = parser.parse_args([])
    with pytest.raises(
        CliError, match=r"`mlmon serve` needs mlmon.no_such_module: pip install 'mlmon\[service\]'"
    ):
        args.func(args)
