"""Helpers of the serving tests: start the production API as a process, and build model artifacts."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from service_helpers import free_port, service_env, spawn_healthy

ADMIN = "serving-admin-secret"
FEATURES = ["age", "income"]


def start_serving(log: Path, port: int | None = None, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    """``python -m mlmon.serving`` on ``port`` (default: a free loopback port) with ``env`` on top of a
    clean environment; waits for ``/healthz`` and returns the process and its base URL."""
    port = port or free_port()
    cmd = [sys.executable, "-m", "mlmon.serving", "--port", str(port)]
    return spawn_healthy(cmd, service_env(**env), port, log, "production API")


def deploy_headers(
    data: bytes,
    version: str,
    *,
    fmt: str = "skops",
    sha256: str | None = None,
    token: str | None = ADMIN,
    name: str = "credit",
) -> dict[str, str]:
    """The headers ``mlmon deploy`` sends with an artifact."""
    headers = {
        "X-Model-Name": name,
        "X-Model-Version": version,
        "X-Model-Format": fmt,
        "X-Model-SHA256": sha256 or hashlib.sha256(data).hexdigest(),
        "content-type": "application/octet-stream",
    }
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def put_model(url: str, data: bytes, version: str, **kw: Any) -> httpx.Response:
    """``PUT /admin/model`` with the artifact and its headers."""
    return httpx.put(
        f"{url}/admin/model", content=data, headers=deploy_headers(data, version, **kw), timeout=60
    )


def metric(url: str, name: str, **labels: str) -> float:
    """One sample of the API's ``/metrics`` (0 when absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{url}/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0
