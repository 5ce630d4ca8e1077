"""`mlmon demo --in-process` (the library-only job): it catches the drift it stages and nothing else. The
whole loop `make demo` runs is tested end to end in tests/e2e/test_demo_loop.py."""

from pathlib import Path

from rich.console import Console

from mlmon import Baseline, DriftReport, Monitor
from mlmon.demo import main, make_data, run


def test_demo_catches_the_staged_drift_and_writes_reports(tmp_path: Path) -> None:
    with open(tmp_path / "out.txt", "w") as sink:
        report = run(tmp_path, rows=20_000, console=Console(file=sink))
    assert "severity critical" in (tmp_path / "out.txt").read_text()
    drifted = {f.name for f in report.drifted()}
    assert drifted == {"age", "monthly_spend", "plan"}
    assert report.features["plan"].unseen_rate > 0.05
    assert (tmp_path / "drift.html").read_text().count("monthly_spend") >= 1
    assert DriftReport.from_json((tmp_path / "drift.json").read_text()).severity == "critical"
    assert Baseline.load(tmp_path / "baseline.mlmon").model == "churn"


def test_clean_traffic_raises_nothing() -> None:
    baseline = Baseline.fit(make_data(20_000, seed=1), categorical=["plan", "country"])
    monitor = Monitor(baseline)
    monitor.update(make_data(20_000, seed=2))
    assert monitor.report().drifted() == []


def test_main_exit_code(tmp_path: Path) -> None:
    assert main(["--in-process", "--out", str(tmp_path), "--rows", "5000"]) == 0
