"""``mlmon demo --in-process``: the library-only job on generated data, in a few seconds.

It builds a churn-like training set, fits a baseline (quantile bins, categories, feature importances),
streams clean production traffic and then drifted traffic through a :class:`~mlmon.Monitor` in
batches of 1,000 rows (the service's case), prints the drift table for each, and writes the HTML and
JSON reports. Nothing here needs a network or a server.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from rich.console import Console

from mlmon.core.baseline import Baseline
from mlmon.core.drift import DriftReport, Thresholds
from mlmon.core.monitor import Monitor

__all__ = ["STAGED_DRIFT", "caught", "make_data", "run"]

PLANS = np.array(["basic", "plus", "pro", "team", "enterprise"], dtype=object)
COUNTRIES = np.array([f"C{i:02d}" for i in range(40)], dtype=object)
STAGED_DRIFT = frozenset({"age", "monthly_spend", "plan"})
"""The features :func:`make_data` shifts when ``drift`` is set."""


def make_data(rows: int, seed: int, drift: bool = False) -> dict[str, np.ndarray]:
    """A synthetic churn table: 6 numerical and 2 categorical features.

    Args:
        rows: Number of rows.
        seed: Random seed.
        drift: Shift ``age`` and ``monthly_spend``, and move plan shares towards ``basic`` plus a new
            ``trial`` plan, the way a pricing change would.

    Returns:
        Columns by name.
    """
    rng = np.random.default_rng(seed)
    age = rng.normal(41, 12, rows).clip(18, 90)
    spend = rng.lognormal(3.5, 0.6, rows)
    plan_p = np.array([0.35, 0.3, 0.2, 0.1, 0.05])
    if drift:
        age = age + 9.0
        spend = spend * 1.6
        plan_p = np.array([0.55, 0.2, 0.1, 0.05, 0.02])
    plan = PLANS[rng.choice(len(PLANS), rows, p=plan_p / plan_p.sum())]
    if drift:
        plan[rng.random(rows) < 0.08] = "trial"
    tenure = rng.exponential(24, rows)
    tickets = rng.poisson(1.2, rows).astype(np.float64)
    tickets[rng.random(rows) < 0.01] = np.nan
    return {
        "age": age,
        "monthly_spend": spend,
        "tenure_months": tenure,
        "support_tickets": tickets,
        "logins_per_week": rng.gamma(2.0, 2.5, rows),
        "discount": rng.uniform(0, 0.3, rows),
        "plan": plan,
        "country": COUNTRIES[np.minimum(rng.zipf(1.6, rows), len(COUNTRIES)) - 1],
    }


def _batches(data: dict[str, np.ndarray], size: int) -> Iterator[dict[str, np.ndarray]]:
    rows = len(next(iter(data.values())))
    for start in range(0, rows, size):
        yield {k: v[start : start + size] for k, v in data.items()}


def _stream(baseline: Baseline, data: dict[str, np.ndarray], batch: int) -> tuple[DriftReport, float]:
    monitor = Monitor(baseline, thresholds=Thresholds(warning=0.2, critical=0.5))
    start = time.perf_counter()
    for part in _batches(data, batch):
        monitor.update(part)
    return monitor.report(), time.perf_counter() - start


def run(out: Path, rows: int = 200_000, batch: int = 1_000, console: Console | None = None) -> DriftReport:
    """Runs the demo and writes ``baseline.mlmon``, ``drift.html`` and ``drift.json`` under ``out``.

    Returns:
        The drifted traffic's report.
    """
    # Piped output (make demo in CI, a log) gets a fixed width so the table's columns stay readable.
    console = console or Console(width=None if sys.stdout.isatty() else 132)
    out.mkdir(parents=True, exist_ok=True)
    importance = {"age": 0.25, "monthly_spend": 0.3, "tenure_months": 0.2, "plan": 0.15, "country": 0.1}
    t0 = time.perf_counter()
    baseline = Baseline.fit(
        make_data(rows, seed=1),
        categorical=["plan", "country"],
        feature_importance=importance,
        model="churn",
        version="1",
    )
    baseline.save(out / "baseline.mlmon")
    console.print(f"[bold]Baseline[/] fitted on {rows:,} rows in {time.perf_counter() - t0:.2f} s")
    for title, data in (
        ("Clean production traffic", make_data(rows, seed=2)),
        ("Drifted production traffic (pricing change)", make_data(rows, seed=3, drift=True)),
    ):
        report, seconds = _stream(baseline, data, batch)
        console.rule(f"{title}: severity {report.severity}")
        console.print(report.to_table())
        console.print(f"{rows // batch:,} batches of {batch:,} rows absorbed in {seconds:.2f} s")
    report.to_html(str(out / "drift.html"))
    (out / "drift.json").write_text(report.to_json())
    console.print(f"HTML report: {out / 'drift.html'}\nJSON report: {out / 'drift.json'}")
    return report


def caught(report: DriftReport) -> bool:
    """Whether the report flags every feature the drifted data set shifts."""
    return {f.name for f in report.drifted()} >= STAGED_DRIFT
