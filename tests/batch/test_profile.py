"""mlmon.batch.profile: per-period reports equal a Monitor fed each period's rows, whatever the file
split, batch size or format; bad sources and columns raise errors naming them."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import mlmon
import mlmon.batch
from batch.data import DAY, START, write_parts
from mlmon.exceptions import DtypeError, InputError, SchemaMismatchError


def monitor_reports(table: pa.Table, baseline: mlmon.Baseline) -> list[mlmon.DriftReport]:
    """The reference result: one Monitor per day, fed that day's rows."""
    day = pc.divide(pc.cast(table["ts"].cast(pa.timestamp("s")), pa.int64()), DAY).to_numpy()
    out = []
    for key in np.unique(day):
        rows = table.filter(pa.array(day == key)).drop_columns(["ts"])
        monitor = mlmon.Monitor(baseline, window="1d")
        monitor.update(rows, timestamp=datetime.fromtimestamp(int(key) * DAY, timezone.utc))
        out.append(monitor.report())
    return out


def test_periods_equal_a_monitor_per_day(
    parquet_dir: Path, table: pa.Table, baseline: mlmon.Baseline
) -> None:
    history = mlmon.batch.profile(str(parquet_dir / "*.parquet"), baseline, by="1d", timestamp="ts",
                                  progress=False)  # fmt: skip
    assert len(history) == 6
    assert history.rows == table.num_rows
    assert history.reports == monitor_reports(table, baseline)
    assert [r.window_start for r in history] == [
        datetime.fromtimestamp(int(START.astype(np.int64)) + i * DAY, timezone.utc) for i in range(6)
    ]
    severities = [r.features["x"].severity for r in history]
    assert severities[:3] == ["ok"] * 3 and severities[3:] == ["critical"] * 3
    assert all(r.features["plan"].unseen_rate == pytest.approx(0.3, abs=0.03) for r in history.reports[3:])


def test_split_batch_size_and_format_do_not_change_counts(
    tmp_path: Path, parquet_dir: Path, table: pa.Table, baseline: mlmon.Baseline
) -> None:
    whole = mlmon.batch.profile(table, baseline, progress=False)
    by_dir = mlmon.batch.profile(parquet_dir, baseline, batch_size=999, progress=False)
    csv = write_parts(table, tmp_path / "csv", parts=2, fmt="csv")
    by_csv = mlmon.batch.profile([str(p) for p in csv], baseline, progress=False)
    assert whole.reports == by_dir.reports
    # CSV keeps float64 text exactly, so the counts and every figure agree with Parquet.
    assert by_csv.reports == whole.reports


def test_six_hour_periods_and_epoch_seconds(table: pa.Table, baseline: mlmon.Baseline) -> None:
    epoch = table.set_column(0, "ts", pc.cast(table["ts"].cast(pa.timestamp("s")), pa.int64()))
    by_ts = mlmon.batch.profile(table, baseline, by="6h", progress=False)
    by_epoch = mlmon.batch.profile(epoch, baseline, by="6h", progress=False)
    assert len(by_ts) == 24
    assert by_ts.reports == by_epoch.reports
    seconds = pc.cast(epoch["ts"], pa.float64()).to_numpy().copy()
    seconds[::7] += 0.25  # fractional seconds stay in their period
    seconds[::11] = np.nan  # a missing timestamp
    fractional = mlmon.batch.profile(
        epoch.set_column(0, "ts", pa.array(seconds)), baseline, by="6h", progress=False
    )
    assert fractional.skipped_rows == len(seconds[::11])
    assert fractional.rows == table.num_rows - fractional.skipped_rows


def test_rows_without_timestamp_are_counted_as_skipped(table: pa.Table, baseline: mlmon.Baseline) -> None:
    mask = pa.array(np.arange(table.num_rows) % 10 == 0)
    ts = pc.if_else(mask, pa.scalar(None, table["ts"].type), table["ts"])
    history = mlmon.batch.profile(table.set_column(0, "ts", ts), baseline, progress=False)
    assert history.skipped_rows == table.num_rows // 10
    assert history.rows + history.skipped_rows == table.num_rows
    assert "without a timestamp were left out" in history.to_html()
    none = mlmon.batch.profile(
        table.set_column(0, "ts", pa.nulls(table.num_rows, table["ts"].type)), baseline
    )
    assert len(none) == 0 and none.skipped_rows == table.num_rows and none.to_arrow().num_rows == 0
    assert "nothing to show" in none.to_html()


def test_missing_feature_is_schema_drift_not_an_error(table: pa.Table, baseline: mlmon.Baseline) -> None:
    history = mlmon.batch.profile(table.drop_columns(["age"]), baseline, progress=False)
    assert all(r.missing_columns == ["age"] for r in history)
    assert all(r.features["age"].missing_rate == 1.0 for r in history)


def test_tables(table: pa.Table, baseline: mlmon.Baseline) -> None:
    history = mlmon.batch.profile(table, baseline, progress=False)
    arrow = history.to_arrow()
    assert arrow.num_rows == 6 * 4 and arrow.column_names == list(mlmon.batch.COLUMNS)
    frame = history.to_pandas()
    assert frame.groupby("feature")["score"].count().to_dict() == {"x": 6, "age": 6, "plan": 6, "active": 6}
    pl_frame = history.to_polars()
    assert pl_frame.shape == arrow.shape
    assert [s for _, s, _ in history.scores("x")] == [r.features["x"].score for r in history]
    with pytest.raises(KeyError, match="nope"):
        history.scores("nope")


def test_html_has_a_chart_per_feature_and_no_script(
    table: pa.Table, baseline: mlmon.Baseline, tmp_path: Path
) -> None:
    history = mlmon.batch.profile(table, baseline, progress=False)
    html = history.to_html(str(tmp_path / "h.html"))
    assert (tmp_path / "h.html").read_text() == html
    assert html.count("<svg") == 4 and html.count("<circle") == 4 * 6
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "2024-03-04" in html


def test_bad_sources_and_columns(tmp_path: Path, table: pa.Table, baseline: mlmon.Baseline) -> None:
    with pytest.raises(InputError, match="no file matches"):
        mlmon.batch.profile(str(tmp_path / "*.parquet"), baseline)
    with pytest.raises(InputError, match="no such file"):
        mlmon.batch.profile(tmp_path / "absent.parquet", baseline)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="unknown format"):
        mlmon.batch.profile(tmp_path / "notes.txt", baseline)
    with pytest.raises(InputError, match="by must be a duration"):
        mlmon.batch.profile(table, baseline, by=1000)
    with pytest.raises(InputError, match=r"unknown profile arguments: \['treshold'\]"):
        mlmon.batch.profile(table, baseline, treshold=None)  # type: ignore[call-arg]
    with pytest.raises(SchemaMismatchError, match="timestamp column 'when'"):
        mlmon.batch.profile(table, baseline, timestamp="when")
    with pytest.raises(SchemaMismatchError, match="none of the baseline"):
        mlmon.batch.profile(table.select(["ts"]), baseline)
    with pytest.raises(DtypeError, match="timestamp column 't2': unsupported type bool"):
        mlmon.batch.profile(table.append_column("t2", table["active"]), baseline, timestamp="t2")
    bad = table.set_column(0, "ts", pa.array(["yesterday"] * table.num_rows))
    with pytest.raises(InputError, match="cannot parse"):
        mlmon.batch.profile(bad, baseline)
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match="cannot read"):
        mlmon.batch.profile(tmp_path / "broken.parquet", baseline)
