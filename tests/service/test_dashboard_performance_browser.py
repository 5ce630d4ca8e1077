"""The pages of a labelled model in headless Chromium (Debian's package), from a real service process:
the dashboard draws the realized and estimated accuracy sparklines beside the drift charts, the report
page has its "Model performance" section between the drift tables and the distributions, and the
browser logs no console error on either."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import httpx
import numpy as np
import pytest
from service_helpers import MSGPACK, mp, start_service
from test_performance_pages import CLASSES, _batch, _classifier

import system_tools

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _dump(url: str, tmp_path: Path) -> tuple[str, list[str]]:
    args = system_tools.headless_chromium(f"--user-data-dir={tmp_path / 'profile'}")
    proc = subprocess.run(
        [*args, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    return proc.stdout, errors


def test_performance_renders_in_a_browser(tmp_path: Path) -> None:
    proc, url = start_service(
        f"sqlite:///{tmp_path / 'svc.db'}", tmp_path / "server.log", MLMON_WINDOW_SECONDS="86400"
    )
    try:
        put = httpx.put(
            f"{url}/v1/models/churn/versions/v1/baseline", content=_classifier(CLASSES).to_bytes()
        )
        assert put.is_success, put.text
        ids = [f"r{i}" for i in range(400)]
        batch = _batch(7, 400, ids)
        assert httpx.post(f"{url}/v1/models/churn/ingest", content=mp(batch), headers=MSGPACK).is_success
        truth = np.random.default_rng(8).choice(CLASSES, 400).tolist()
        labels = {"request_ids": ids, "labels": truth}
        got = httpx.post(f"{url}/v1/models/churn/labels", content=mp(labels), headers=MSGPACK).json()
        assert got["matched"] == 400

        dom, errors = _dump(f"{url}/", tmp_path)
        assert errors == []
        assert 'aria-label="realized accuracy"' in dom and 'aria-label="estimated accuracy"' in dom
        assert "labelled 400" in dom

        report, errors = _dump(f"{url}/v1/models/churn/report.html", tmp_path)
        assert errors == []
        assert report.index("<h2>Features</h2>") < report.index("<h2>Model performance</h2>")
        assert report.index("<h2>Model performance</h2>") < report.index("<h2>Distributions</h2>")
        assert "Estimated (CBPE) vs realized" in report and "<h3>Per window</h3>" in report
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
