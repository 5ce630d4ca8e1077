"""profile(store=...): the periods' counts and drift results land in the store, once, where the
service's drift history reads them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest

import mlmon
import mlmon.batch
from mlmon.exceptions import InputError
from mlmon.store import ConflictError, open_store


def test_history_is_stored_once(tmp_path: Path, table: pa.Table, baseline: mlmon.Baseline) -> None:
    url = f"sqlite:///{tmp_path / 'mlmon.db'}"
    history = mlmon.batch.profile(table, baseline, store=url, progress=False)
    again = mlmon.batch.profile(table, baseline, store=url, progress=False)  # a rerun is not a double count
    assert again.reports == history.reports
    first, last = history[0], history[-1]
    assert first.window_start is not None and last.window_end is not None
    with open_store(url) as store:
        merged = store.merged_profile("churn", "v1", first.window_start, last.window_end)
        assert merged.rows == table.num_rows and merged.partials == len(history)
        stored = store.drift_history("churn", "x", first.window_start, last.window_end, version="v1")
        assert [(r.window_start, r.severity) for r in stored] == [
            (r.window_start, r.features["x"].severity) for r in history
        ]
        assert [r.score for r in stored] == pytest.approx([r.features["x"].score for r in history])
        one_day = store.merged_profile(
            "churn", "v1", first.window_start, first.window_start + timedelta(days=1)
        )
        assert one_day.rows == first.current_rows


def test_different_data_for_a_stored_period_conflicts(
    tmp_path: Path, table: pa.Table, baseline: mlmon.Baseline
) -> None:
    url = f"sqlite:///{tmp_path / 'mlmon.db'}"
    mlmon.batch.profile(table, baseline, store=url, progress=False)
    with pytest.raises(ConflictError, match="stored before from different data"):
        mlmon.batch.profile(table.slice(0, 1000), baseline, store=url, progress=False)
    with open_store(url) as store:
        start = datetime(2024, 3, 1, tzinfo=timezone.utc)
        assert store.merged_profile("churn", "v1", start, start + timedelta(days=6)).rows == table.num_rows


def test_store_needs_a_model_and_version(tmp_path: Path, table: pa.Table) -> None:
    anonymous = mlmon.Baseline.fit(table.drop_columns(["ts"]).slice(0, 5000))
    url = f"sqlite:///{tmp_path / 'mlmon.db'}"
    with pytest.raises(InputError, match="needs a model and version"):
        mlmon.batch.profile(table, anonymous, store=url, progress=False)
    history = mlmon.batch.profile(table, anonymous, store=url, model="m", version="2", progress=False)
    with open_store(url) as store:
        assert store.get_version("m", "2").stage == "none"
        span = datetime(2024, 1, 1, tzinfo=timezone.utc), datetime(2025, 1, 1, tzinfo=timezone.utc)
        assert len(store.drift_history("m", "x", *span)) == len(history)
