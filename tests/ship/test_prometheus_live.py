"""End to end on loopback: a real service process and a real Prometheus (Debian's binary) scraping it every
second with the shipped alert rules (``for:`` shortened to seconds). Drifted data is posted until the
drift score crosses 0.5; Prometheus's HTTP API must then show the target up, the score it scraped, and
MlmonDriftCritical firing for that feature. Bounded to under a minute."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np
import pytest
import yaml
from prom_rules import rule_groups
from service_helpers import ADMIN, MSGPACK, TOKEN_A, free_port, mp, start_service

import mlmon
import system_tools

T = TypeVar("T")
_DEADLINE_SECONDS = 45


def _prometheus() -> str:
    return system_tools.require("prometheus")


def _wait(what: str, probe: Callable[[], T | None], deadline: float, log: Path) -> T:
    while time.monotonic() < deadline:
        try:
            found = probe()
        except httpx.TransportError:
            found = None
        except httpx.HTTPStatusError as exc:
            # Prometheus answers 503 on its API until its storage and rule manager are up.
            if exc.response.status_code != 503:
                raise
            found = None
        if found is not None:
            return found
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}; prometheus log tail:\n{log.read_text()[-3000:]}")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[str]:
    """A service with auth on, as in production, that evaluates drift every second over the current
    window (so the gauge moves now). Prometheus scrapes /metrics without credentials."""
    proc, url = start_service(
        f"sqlite:///{tmp_path / 'mlmon.db'}",
        tmp_path / "service.log",
        **{
            "MLMON_ALERT_INTERVAL_SECONDS": "1",
            "MLMON_ALERT_WINDOW": "current",
            "MLMON_ADMIN_TOKEN": ADMIN,
            "MLMON_INGEST_TOKENS": f"churn={TOKEN_A}",
        },
    )
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def _fast_rules(path: Path) -> None:
    groups = rule_groups()
    for group in groups["groups"]:
        group["interval"] = "1s"
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "2s"
    path.write_text(yaml.safe_dump(groups, sort_keys=False))


@pytest.fixture
def prometheus(tmp_path: Path, service: str) -> Iterator[tuple[str, Path]]:
    """Prometheus scraping ``service`` every second with the shipped rules."""
    _fast_rules(tmp_path / "rules.yaml")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "900ms"},
        "rule_files": ["rules.yaml"],
        "scrape_configs": [
            {
                "job_name": "mlmon",
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [service.removeprefix("http://")]}],
            }
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = tmp_path / "prometheus.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [
                _prometheus(),
                "--config.file=prometheus.yml",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    yield f"http://127.0.0.1:{port}", log
    proc.terminate()
    proc.wait(timeout=30)


def _api(base: str, path: str, **params: str) -> Any:
    reply = httpx.get(f"{base}/api/v1/{path}", params=params, timeout=2)
    reply.raise_for_status()
    return reply.json()["data"]


def test_critical_drift_alert_fires_in_prometheus(service: str, prometheus: tuple[str, Path]) -> None:
    prom, log = prometheus
    deadline = time.monotonic() + _DEADLINE_SECONDS
    rng = np.random.default_rng(0)
    ref = mlmon.Baseline.fit({"age": rng.normal(40, 9, 5000), "plan": rng.choice(["a", "b", "c"], 5000)})
    put = httpx.put(
        f"{service}/v1/models/churn/versions/v1/baseline",
        content=ref.to_bytes(),
        timeout=10,
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert put.status_code == 200, put.text

    def target_up() -> bool | None:
        targets = _api(prom, "targets")["activeTargets"]
        return True if [t for t in targets if t["health"] == "up"] else None

    _wait("the scrape target to be up", target_up, deadline, log)
    shifted = rng.normal(80, 9, 2000)  # far from the baseline's mean of 40: PSI well above 0.5
    batch = {
        "batch_id": "live-drift",
        "columns": {
            "age": {"dtype": "<f8", "data": shifted.tobytes()},
            "plan": rng.choice(["a", "b", "c"], 2000).tolist(),
        },
    }
    headers = {**MSGPACK, "Authorization": f"Bearer {TOKEN_A}"}
    sent = httpx.post(f"{service}/v1/models/churn/ingest", content=mp(batch), headers=headers, timeout=10)
    assert sent.status_code == 200, sent.text

    def scraped_score() -> float | None:
        result = _api(prom, "query", query='mlmon_feature_drift_score{feature="age", model="churn"}')[
            "result"
        ]
        return float(result[0]["value"][1]) if result else None

    score = _wait("Prometheus to scrape the drift score", scraped_score, deadline, log)
    assert score >= 0.5

    def critical_firing() -> dict[str, Any] | None:
        alerts = _api(prom, "alerts")["alerts"]
        firing = [
            a for a in alerts if a["labels"]["alertname"] == "MlmonDriftCritical" and a["state"] == "firing"
        ]
        return firing[0] if firing else None

    alert = _wait("MlmonDriftCritical to fire", critical_firing, deadline, log)
    assert alert["labels"]["feature"] == "age" and alert["labels"]["severity"] == "critical"
    assert alert["labels"]["model"] == "churn" and alert["labels"]["version"] == "v1"
    # The healthy categorical feature raises nothing.
    alerts = _api(prom, "alerts")["alerts"]
    assert not [a for a in alerts if a["labels"].get("feature") == "plan"]
