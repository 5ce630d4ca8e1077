"""The suite's sizes: ``tiny`` (seconds, for the test), ``quick`` (under 5 minutes) and ``full`` (under
30 minutes), and ``store`` (the store steps only, laid over the newest full run's results so the capacity
report keeps its other figures). Each step gets a share of the mode's budget and stops measuring when it
is used up."""

from __future__ import annotations

import msgspec

__all__ = ["MODES", "STEPS", "LabelSizes", "Mode"]

#: Every step of the suite, in the order it runs.
STEPS = ("kernels", "curves", "memory", "store", "ingest", "compaction", "labels", "service", "peers")


class LabelSizes(msgspec.Struct, frozen=True, kw_only=True):
    """The labels step's sizes in one mode (each measurement also stops at its share of the budget).

    Attributes:
        stage_runs: Timed runs of each side of the outputs stage.
        commits: Timed group commits per side.
        joins: Timed 1,000-label join batches.
        disk_predictions: Predictions kept for the bytes-per-prediction figure.
        entries: ``BaselineEntry`` objects built per side for the memory figure.
    """

    stage_runs: int = 50
    commits: int = 20
    joins: int = 16
    disk_predictions: int = 100_000
    entries: int = 50


class Mode(msgspec.Struct, frozen=True, kw_only=True):
    """One size of the suite.

    Attributes:
        name: ``tiny``, ``quick``, ``full`` or ``store``.
        budget_s: Wall-time bound of the measurements (peer installs run beside them).
        repeat: Timed runs per curve point (the best is kept).
        curves: Points of each scaling curve.
        curve_rows: Rows per set of the features and categories curves.
        kernel_sizes: The in-process kernels suites to run and the size of each (see
            :mod:`mlmon.bench.kernels`: rows per set, column length, minutes merged, file rows).
        kernel_rounds: Timed runs of each kernel at least.
        kernel_max_time: Seconds of timed runs per kernel after which no new run starts.
        kernel_warmup: Untimed runs of each kernel first.
        memory_models: Monitors created for the memory-per-model figure.
        store_rows: Partials written per backend for the store-growth figure.
        postgres: Whether the store figures include PostgreSQL (a throwaway server).
        ingest_commits: Timed group commits of the store-only ingest step, per backend and key.
        compaction_batches: Batches sent into one window through the service in the compaction step.
        compaction_interval_s: The service's compaction interval in that step (its default is 5 s).
        labels: The sizes of the outputs-and-labels step (:mod:`mlmon.bench.labels`).
        load_args: Arguments of the Python-client load generator (``None``: no service run).
        wrk_args: Arguments of the wrk load benchmark, used instead when it and wrk are there.
        peer_rows: Rows per set of the peer comparison.
        peers: Which peers run (``None``: all of them).
        steps: The steps that run (``None``: all of :data:`STEPS`).
        overlay: Lay the results over the newest ``full`` results file (the others' figures kept).
    """

    name: str
    budget_s: float
    repeat: int
    curves: dict[str, list[int]]
    curve_rows: dict[str, int]
    kernel_sizes: dict[str, int]
    kernel_rounds: int
    kernel_max_time: float
    kernel_warmup: int = 1
    memory_models: int
    store_rows: int
    postgres: bool
    load_args: list[str] | None
    wrk_args: list[str] = []
    peer_rows: int
    peers: list[str] | None = None
    ingest_commits: int = 40
    compaction_batches: int = 10_000
    compaction_interval_s: float = 5.0
    labels: LabelSizes = LabelSizes()
    steps: list[str] | None = None
    overlay: bool = False


MODES = {
    "tiny": Mode(
        name="tiny",
        budget_s=60,
        repeat=1,
        curves={
            "rows": [1_000, 3_000, 10_000],
            "features": [5, 10, 20],
            "categories": [10, 100, 1_000],
            "batch": [10, 100, 1_000],
        },
        curve_rows={"features": 2_000, "categories": 5_000},
        kernel_sizes={"pipeline": 2_000, "engine": 20_000, "store": 60, "monitor": 100},
        kernel_rounds=1,
        kernel_max_time=0.0,
        kernel_warmup=0,
        memory_models=5,
        store_rows=20,
        postgres=False,
        load_args=None,
        peer_rows=2_000,
        peers=["mlmon", "numpy/scipy"],
        ingest_commits=5,
        compaction_batches=200,
        compaction_interval_s=0.5,
        labels=LabelSizes(stage_runs=3, commits=2, joins=2, disk_predictions=2_000, entries=5),
    ),
    "quick": Mode(
        name="quick",
        budget_s=290,
        repeat=3,
        curves={
            "rows": [10_000, 100_000, 1_000_000, 3_000_000],
            "features": [10, 30, 100, 300, 1_000],
            "categories": [10, 100, 1_000, 10_000, 100_000],
            "batch": [10, 100, 1_000, 10_000],
        },
        curve_rows={"features": 20_000, "categories": 100_000},
        kernel_sizes={"pipeline": 200_000, "store": 1_440, "engine": 10_000_000, "monitor": 1_000},
        kernel_rounds=3,
        kernel_max_time=0.1,
        memory_models=50,
        store_rows=300,
        postgres=True,
        load_args=["--requests", "150", "--concurrency", "8"],
        wrk_args=["--seconds", "4", "--only", "mlmon-uvicorn"],
        peer_rows=100_000,
        ingest_commits=20,
        compaction_batches=3_000,
        labels=LabelSizes(stage_runs=20, commits=8, joins=8, disk_predictions=32_000, entries=20),
    ),
    "full": Mode(
        name="full",
        budget_s=1_740,
        repeat=5,
        curves={
            "rows": [10_000, 100_000, 1_000_000, 3_000_000, 10_000_000],
            "features": [10, 30, 100, 300, 1_000],
            "categories": [10, 100, 1_000, 10_000, 100_000],
            "batch": [10, 100, 1_000, 10_000, 100_000],
        },
        curve_rows={"features": 100_000, "categories": 1_000_000},
        kernel_sizes={
            "pipeline": 1_000_000,
            "store": 1_440,
            "batch": 300_000,
            "engine": 10_000_000,
            "monitor": 1_000,
        },
        kernel_rounds=5,
        kernel_max_time=0.5,
        memory_models=200,
        store_rows=2_000,
        postgres=True,
        load_args=["--requests", "300", "--concurrency", "8"],
        wrk_args=["--seconds", "8"],
        peer_rows=1_000_000,
    ),
    "store": Mode(
        name="store",
        budget_s=600,
        repeat=1,
        curves={},
        curve_rows={},
        kernel_sizes={},
        kernel_rounds=1,
        kernel_max_time=0.0,
        memory_models=0,
        store_rows=2_000,
        postgres=True,
        load_args=None,
        peer_rows=0,
        steps=["store", "ingest", "compaction", "labels"],
        overlay=True,
    ),
}
