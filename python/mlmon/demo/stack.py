"""The demo's running system: the drift service and the production API as local processes on free
loopback ports, wired together with fresh random tokens, alerts routed to a webhook URL.

The end-to-end tests start the same stack on PostgreSQL, so what the demo shows is what is tested."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from mlmon.demo.processes import Child, free_port, start_child, stop_children, wait_healthy
from mlmon.deploy import Secrets

__all__ = ["Stack", "launch_stack", "start_stack", "wait_rows"]


@dataclass
class Stack:
    """The running services and the credentials that reach them."""

    drift: Child
    serving: Child
    database_url: str
    admin_token: str
    serving_token: str
    ingest_token: str
    model: str
    children: list[Child] = field(default_factory=list)

    def secrets(self, webhook_url: str | None) -> Secrets:
        """What ``mlmon deploy`` needs to deploy into this stack."""
        return Secrets(
            database_url=self.database_url,
            admin_token=self.admin_token,
            serving_token=self.serving_token,
            webhook_url=webhook_url,
        )

    def read_headers(self) -> dict[str, str]:
        """Headers of a read call on the drift service."""
        return {"authorization": f"Bearer {self.admin_token}"}

    def wait_ready(self) -> None:
        """Waits until both processes answer ``/healthz``; stops them if one does not.

        Raises:
            RuntimeError: a process exited or did not answer in time (with the end of its log).
        """
        try:
            wait_healthy(self.children)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stops both processes (SIGTERM, then kill after a grace period) and reaps them."""
        stop_children(self.children)


def launch_stack(
    workdir: Path,
    *,
    database_url: str,
    model: str,
    webhook_url: str | None,
    alert_interval: float = 0.5,
    window_seconds: int = 86400,
) -> Stack:
    """Starts ``mlmon serve`` and ``mlmon serve-model`` (logs in ``workdir``) without waiting for them
    (call :meth:`Stack.wait_ready`), so the caller can work while they boot.

    Args:
        workdir: Logs and the production API's model directory go here.
        database_url: The store both the service and ``mlmon deploy`` use.
        model: The model whose features the production API forwards (its ingest token is made here).
        webhook_url: Where the service POSTs alerts (warning and critical), if anywhere.
        alert_interval: Seconds between alert evaluations.
        window_seconds: Drift window; the current one is watched, so alerts come while traffic flows.

    Raises:
        RuntimeError: a process did not start (with the end of its log).
    """
    admin, serving_token, ingest = (secrets.token_urlsafe(24) for _ in range(3))
    drift_port, serving_port = free_port(), free_port()
    drift_env = {
        "MLMON_DATABASE_URL": database_url,
        "MLMON_ADMIN_TOKEN": admin,
        "MLMON_INGEST_TOKENS": f"{model}={ingest}",
        "MLMON_PUBLIC_READ": "1",
        "MLMON_WINDOW_SECONDS": str(window_seconds),
        "MLMON_ALERT_INTERVAL_SECONDS": str(alert_interval),
        "MLMON_ALERT_WINDOW": "current",
        "MLMON_ALERT_ROUTES": "warning=webhook;critical=webhook",
        "MLMON_DRAIN_SECONDS": "0",
    }
    if webhook_url:
        drift_env["MLMON_WEBHOOK_URL"] = webhook_url
    drift = start_child("drift service", ["serve"], drift_port, drift_env, workdir / "drift-service.log")
    serving_env = {
        "MLMON_SERVING_ADMIN_TOKEN": serving_token,
        "MLMON_DRIFT_URL": drift.url,
        "MLMON_DRIFT_TOKEN": ingest,
        "MLMON_SERVING_DRIFT_FLUSH_INTERVAL": "0.2",
    }
    serving = start_child(
        "production API",
        ["serve-model", "--model-dir", str(workdir / "served-models")],
        serving_port,
        serving_env,
        workdir / "production-api.log",
    )
    return Stack(drift, serving, database_url, admin, serving_token, ingest, model, [serving, drift])


def start_stack(workdir: Path, **kw: Any) -> Stack:
    """:func:`launch_stack` (same arguments), then :meth:`Stack.wait_ready`."""
    stack = launch_stack(workdir, **kw)
    stack.wait_ready()
    return stack


def current_report(client: httpx.Client, stack: Stack, version: str | None = None) -> dict[str, Any] | None:
    """The drift service's report of the current window as JSON (of ``version``, default the production
    one), or ``None`` while it has no data."""
    params = {"version": version} if version else {}
    url = f"{stack.drift.url}/v1/models/{stack.model}/drift"
    response = client.get(url, params=params, headers=stack.read_headers())
    if response.status_code != 200:
        return None
    report: dict[str, Any] = response.json()
    return report


def wait_rows(
    client: httpx.Client, stack: Stack, rows: int, timeout: float = 30.0, version: str | None = None
) -> dict[str, Any]:
    """Waits until the current window holds at least ``rows`` rows (the production API's drift client
    flushes in the background) and returns its report.

    Raises:
        TimeoutError: fewer rows arrived in time.
    """
    deadline = time.monotonic() + timeout
    seen = 0
    while True:
        report = current_report(client, stack, version)
        seen = 0 if report is None else int(report.get("current_rows", 0))
        if report is not None and seen >= rows:
            return report
        if time.monotonic() > deadline:
            raise TimeoutError(f"the drift service holds {seen} rows, expected {rows}, after {timeout:g} s")
        time.sleep(0.1)
