"""One local Spark session (2 cores, loopback, no UI) for the Spark tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    pyspark_sql = pytest.importorskip("pyspark.sql")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SPARK_LOCAL_IP", "127.0.0.1")
        # Executors run this interpreter, so they import the same mlmon and engine build.
        env.setenv("PYSPARK_PYTHON", sys.executable)
        env.setenv("PYSPARK_DRIVER_PYTHON", sys.executable)
        session = _session(pyspark_sql)
        yield session
        session.stop()


def _session(pyspark_sql: Any) -> Any:
    session = (
        pyspark_sql.SparkSession.builder.master("local[2]")
        .appName("mlmon-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "5000")
        # Small input splits: the test files become several partitions without a shuffle.
        .config("spark.sql.files.maxPartitionBytes", "150000")
        .config("spark.sql.files.openCostInBytes", "0")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session
