"""Fixtures: one generated history on disk and its baseline, shared by the batch tests."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

import mlmon
from batch.data import history_table, reference, write_parts


@pytest.fixture(scope="session")
def table() -> pa.Table:
    return history_table()


@pytest.fixture(scope="session")
def baseline() -> mlmon.Baseline:
    return reference()


@pytest.fixture(scope="session")
def parquet_dir(tmp_path_factory: pytest.TempPathFactory, table: pa.Table) -> Path:
    directory = tmp_path_factory.mktemp("history")
    write_parts(table, directory)
    return directory
