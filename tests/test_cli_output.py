"""mlmon drift output that reads at any width (issue 17 item 4): a layout per terminal width that never
cuts a cell, every column when piped, and --format table|json|csv|markdown."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

import mlmon
from mlmon.cli import main

N = 5000
LONG = "a_feature_with_a_rather_long_name"
DEPTH_NOTE = "depth: all 5,000 values invalid (wrong type); critical: 100.0% invalid values (wrong type)"


def frame(seed: int, drift: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "carat": rng.gamma(2.0, 0.4, N) * (2.5 if drift else 1.0),
        "cut": rng.choice(["Fair", "Good", "Ideal"], N, p=[0.2, 0.3, 0.5] if drift else [0.1, 0.3, 0.6]),
        LONG: rng.normal(size=N),
        "depth": rng.normal(61.7, 1.4, N),
    })  # fmt: skip


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("out")
    train, current = d / "train.parquet", d / "current.csv"
    frame(0).to_parquet(train)
    cur = frame(1, drift=True)
    cur["depth"] = "abc"  # a whole column of the wrong type: a long quality message
    cur.to_csv(current, index=False)
    baseline = d / "d.mlmon"
    assert main(["baseline", "fit", str(train), "-o", str(baseline), "-q"]) == 0
    return {"baseline": baseline, "current": current}


@pytest.fixture(scope="module")
def report(files: dict[str, Path]) -> mlmon.DriftReport:
    monitor = mlmon.Monitor(mlmon.Baseline.load(files["baseline"]), on_error="count")
    cur = pd.read_csv(files["current"])
    monitor.update(cur)
    return monitor.report()


def render(table: object, width: int) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    return console.export_text().splitlines()


@pytest.mark.parametrize(("width", "header"), [(200, "noise floor"), (80, "kind"), (50, "result")])
@pytest.mark.parametrize("told", [True, False], ids=["width-given", "console-width"])
def test_each_width_gets_a_layout_that_cuts_nothing(
    report: mlmon.DriftReport, width: int, header: str, told: bool
) -> None:
    lines = render(report.to_table(width=width if told else None), width)
    text = "\n".join(lines)
    assert all(len(line) <= width for line in lines)
    assert "…" not in text
    assert header in text
    assert "insufficient_data" in text and "critical" in text
    p = report.features["carat"].p_value
    assert p is not None and format(p, ".2g") in text
    # the quality message is a note under the table, not a cell wrapped over four lines
    flat = " ".join(line.strip() for line in lines)
    assert (
        "depth: all 5,000 values invalid (wrong type); critical: 100.0% invalid values (wrong type)" in flat
    )


def test_piped_output_has_every_column_in_full(
    files: dict[str, Path], report: mlmon.DriftReport, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["drift", str(files["baseline"]), str(files["current"]), "--fail-on", "never"]) == 0
    out = capsys.readouterr().out
    assert "…" not in out and "\x1b[" not in out
    assert all(line == line.rstrip() for line in out.splitlines())
    for header in ("typed as", "noise floor", "JS", "quality"):
        assert header in out
    row = next(line for line in out.splitlines() if line.startswith("│ depth "))
    assert "numerical (float64)" in row and "insufficient_data" in row
    p = report.features["carat"].p_value
    assert p is not None and format(p, ".3g") in out
    assert (
        "] depth: all 5,000 values invalid (wrong type); critical: 100.0% invalid values (wrong type)" in out
    )


def test_format_json_csv_markdown(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    args = ["drift", str(files["baseline"]), str(files["current"]), "--fail-on", "never", "--format"]
    assert main([*args, "json"]) == 0
    parsed = mlmon.DriftReport.from_json(capsys.readouterr().out)
    assert parsed.features["depth"].invalid_rate == 1.0
    assert main([*args, "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["feature"] for r in rows} == {"carat", "cut", LONG, "depth"}
    carat = next(r for r in rows if r["feature"] == "carat")
    assert float(carat["score"]) == parsed.features["carat"].score
    assert main([*args, "markdown"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("## Drift report") and f"| {LONG} | numerical (float64) |" in md
    assert main([*args, "json", "-q"]) == 0
    assert capsys.readouterr().out == ""
    assert json.loads(parsed.to_json())["features"]["cut"]["test"] == "chi_square"
