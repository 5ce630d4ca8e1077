"""``mlmon drift BASELINE 'glob' --by 1d``: the per-period table, HTML, JSON and table outputs, exit codes."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import mlmon
import mlmon.batch
from mlmon.cli import main


def test_history_outputs_and_exit_code(
    tmp_path: Path, parquet_dir: Path, baseline: mlmon.Baseline, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline.save(tmp_path / "churn.mlmon")
    html, js, table = tmp_path / "h.html", tmp_path / "h.json", tmp_path / "h.parquet"
    code = main([
        "drift", str(tmp_path / "churn.mlmon"), str(parquet_dir / "*.parquet"), "--by", "1d",
        "--timestamp", "ts", "--html", str(html), "--json", str(js), "--table", str(table),
    ])  # fmt: skip
    assert code == 1  # days 4-6 are critical
    out = capsys.readouterr().out
    assert "drift per 1d" in out and "2024-03-06 00:00" in out and "critical" in out
    expected = mlmon.batch.profile(parquet_dir, baseline, progress=False)
    assert html.read_text().count("<svg") == len(baseline.features)
    reports = msgspec.json.decode(js.read_bytes(), type=list[mlmon.DriftReport])
    assert reports == expected.reports
    assert pq.read_table(table).equals(expected.to_arrow())
    never = [
        "drift",
        str(tmp_path / "churn.mlmon"),
        str(parquet_dir),
        "--by",
        "1d",
        "--fail-on",
        "never",
        "-q",
    ]
    assert main(never) == 0


def test_bad_history_input_exits_2(
    tmp_path: Path, table: pa.Table, baseline: mlmon.Baseline, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline.save(tmp_path / "b.mlmon")
    pq.write_table(table, tmp_path / "d.parquet")
    cases = {
        "no file matches": [str(tmp_path / "none*.parquet"), "--by", "1d"],
        "timestamp column 'when'": [str(tmp_path / "d.parquet"), "--by", "1d", "--timestamp", "when"],
        "by must be a duration": [str(tmp_path / "d.parquet"), "--by", "100"],
        "expected a .parquet or .csv": [str(tmp_path / "d.parquet"), "--by", "1d", "--table", "t.xlsx"],
    }
    for message, args in cases.items():
        assert main(["drift", str(tmp_path / "b.mlmon"), *args, "-q"]) == 2
        assert message in capsys.readouterr().err
