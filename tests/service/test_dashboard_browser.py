"""The dashboard ``GET /`` of a real service, loaded in headless Chromium (Debian's package): the DOM
shows the model, its versions, the current severity and per-feature inline SVG charts, the report link
renders too, and the browser logs no console error."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import httpx
import numpy as np
import pytest
from service_helpers import MSGPACK, mp, start_service, wait_for

import mlmon
import system_tools

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser,
]


def _dump(url: str, tmp_path: Path) -> tuple[str, list[str]]:
    args = system_tools.headless_chromium(f"--user-data-dir={tmp_path / 'profile'}")
    proc = subprocess.run(
        [*args, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    return proc.stdout, errors


def test_dashboard_renders_models_severity_and_svg(tmp_path: Path, baseline: mlmon.Baseline) -> None:
    # Alerts every 0.2 s on the current window store the drift results the charts draw.
    proc, url = start_service(
        f"sqlite:///{tmp_path / 'svc.db'}", tmp_path / "server.log",
        MLMON_ALERT_INTERVAL_SECONDS="0.2", MLMON_ALERT_WINDOW="current",
    )  # fmt: skip
    try:
        assert httpx.put(
            f"{url}/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes()
        ).is_success
        ages = np.random.default_rng(3).normal(80, 9, 2000)
        batch = {"batch_id": "b1", "columns": {"age": {"dtype": "<f8", "data": ages.tobytes()},
                                               "plan": ["a", "b", "c", "a"] * 500}}  # fmt: skip
        assert httpx.post(f"{url}/v1/models/churn/ingest", content=mp(batch), headers=MSGPACK).is_success
        history = f"{url}/v1/models/churn/drift/history"
        assert wait_for(lambda: len(httpx.get(history, params={"feature": "age"}).json()) >= 1)

        dom, errors = _dump(f"{url}/", tmp_path)
        assert errors == []
        assert "<h2>churn</h2>" in dom and "v1 (none)" in dom
        assert '<td class="sev" style="color:#c62828">critical</td>' in dom  # age, far from the baseline
        assert dom.count("<svg") == 2 and dom.count("<polyline") == 2  # one chart per feature
        assert 'href="/v1/models/churn/report.html?version=v1"' in dom

        report, errors = _dump(f"{url}/v1/models/churn/report.html?version=v1", tmp_path)
        assert errors == []
        assert "<title>mlmon drift report" in report and 'id="f-age"' in report and "critical" in report
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
