"""The HTML report: self-contained, light for 200 features, and clean in headless Chromium."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

import mlmon
import system_tools


def wide_report(n_features: int = 200) -> mlmon.DriftReport:
    rng = np.random.default_rng(0)
    ref = {f"num_{i:03d}": rng.normal(size=5000) for i in range(n_features - 20)}
    ref.update({f"cat_{i:02d}": rng.choice([f"v{j}" for j in range(40)], 5000) for i in range(20)})
    cur = {k: (v + 0.5 if k in ("num_007", "num_100") else v[::-1]) for k, v in ref.items()}
    cur["cat_03"] = rng.choice(["v1", "new<&>"], 5000)
    monitor = mlmon.Monitor(mlmon.Baseline.fit(ref, model="wide", version="7"))
    monitor.update(cur)
    return monitor.report()


@pytest.fixture(scope="module")
def report() -> mlmon.DriftReport:
    return wide_report()


def test_html_is_self_contained_and_light(report: mlmon.DriftReport, tmp_path: Path) -> None:
    path = tmp_path / "r.html"
    html = report.to_html(str(path))
    assert path.read_text(encoding="utf-8") == html
    assert len(html) < 3_000_000
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "<script" not in html
    assert html.count("<svg") == 200
    # summary first, drifted features before the others
    assert html.index("Drifted:") < html.index("<h2>Features")
    for name in ("num_007", "num_100", "cat_03"):
        assert html.index(f'id="f-{name}"') < html.index('id="f-num_000"')
    assert "new&lt;&amp;&gt;" in html and "new<&>" not in html


def test_terminal_table_sorted_worst_first(report: mlmon.DriftReport) -> None:
    console = Console(width=200, record=True)
    console.print(report.to_table(limit=5))
    text = console.export_text()
    rows = [line for line in text.splitlines() if line.startswith("│")]
    assert len(rows) == 5
    assert "cat_03" in rows[0] and "critical" in rows[0]
    assert all("warning" in row for row in rows[1:3])
    assert "num_007" in text and "num_100" in text
    assert "195 more features" in text


@pytest.mark.browser
def test_renders_in_headless_chromium(report: mlmon.DriftReport, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    report.to_html(str(path))
    args = system_tools.headless_chromium()
    proc = subprocess.run(
        [*args, "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in ("num_007", "num_100", "cat_03", "num_000", "cat_19"):
        assert f'id="f-{name}"' in proc.stdout
    assert "Drift report: wide v7" in proc.stdout
    errors = [line for line in proc.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert errors == []
