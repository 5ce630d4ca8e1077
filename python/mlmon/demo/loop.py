"""``mlmon demo``: the whole loop on embedded defaults (SQLite in a temporary directory).

Trains a classifier on the breast-cancer data set shipped with scikit-learn, starts the drift service and
the reference production API as local processes, deploys the model through the same code as
``mlmon deploy`` (gates, registry, baseline upload, push, promotion), sends clean and then drifted
traffic through ``POST /predict``, and prints the drift table per feature, the alerts the service
raised (received by a webhook started here), and the URLs of the service, the HTML report and the
metrics. Between the two, a degraded instrument (noisy rows) makes the label-free estimate of accuracy
fall before any label exists; after them, the labels of every row arrive late and the realized accuracy
drop alerts too (:mod:`mlmon.demo.quality`). Every process it started is stopped and reaped before it
returns, unless ``keep_running``.
"""

from __future__ import annotations

import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import msgspec
from rich.console import Console
from rich.table import Table

from mlmon.core._compat import require
from mlmon.core.drift import DriftReport
from mlmon.demo.processes import WebhookReceiver
from mlmon.demo.quality import Ledger, alerts_of, degraded_traffic, late_labels, wait_alerts
from mlmon.demo.stack import Stack, launch_stack, wait_rows
from mlmon.demo.traffic import SHIFTED, clean_rows, drifted_rows, send_rows, truth_of
from mlmon.deploy import DeployConfig, DeployResult, run_deploy
from mlmon.deploy.config import DataConfig, GatesConfig, HttpConfig, ModelConfig, ServicesConfig
from mlmon.deploy.example import TARGET, train_example

__all__ = ["MODEL", "demo_config", "run_loop"]

MODEL = "breast-cancer"
CLEAN_ROWS = 2000
DRIFTED_ROWS = 6000
ALERT_WAIT_SECONDS = 30.0


def demo_config(artifacts: Path, stack: Stack) -> DeployConfig:
    """The deploy config of the demo's model into the demo's stack."""
    return DeployConfig(
        model=ModelConfig(name=MODEL, artifact=str(artifacts / "model.skops")),
        data=DataConfig(
            training=str(artifacts / "train.parquet"),
            validation=str(artifacts / "validation.parquet"),
            target=TARGET,
        ),
        gates=GatesConfig(minimum={"accuracy": 0.85, "roc_auc": 0.9}, max_regression=0.02),
        services=ServicesConfig(drift_url=stack.drift.url, serving_url=stack.serving.url),
        http=HttpConfig(timeout_seconds=30, retries=3, backoff_seconds=0.2, live_timeout_seconds=60),
    )


def _alerts_table(alerts: list[dict[str, Any]]) -> Table:
    table = Table(title="Alerts received by the webhook")
    for column in ("severity", "feature", "score", "version"):
        table.add_column(column)
    for a in sorted(alerts, key=lambda a: (a.get("severity") != "critical", str(a.get("feature")))):
        score = a.get("score")
        table.add_row(
            str(a.get("severity")),
            str(a.get("feature")),
            "" if score is None else f"{score:.3f}",
            str(a.get("version")),
        )
    return table


def _deploy(
    console: Console, artifacts: Path, stack: Stack, receiver: WebhookReceiver, out: Path
) -> DeployResult:
    log = out / "deploy.jsonl"
    with log.open("w", encoding="utf-8") as sink:
        result = run_deploy(demo_config(artifacts, stack), stack.secrets(receiver.url), stream=sink)
    steps = ", ".join(f"{s.step} {s.status}" for s in result.steps)
    console.print(
        f"[bold]mlmon deploy[/]: {result.status} {MODEL} {result.version} (exit {result.exit_code})"
    )
    console.print(f"  steps: {steps}\n  metrics: {result.metrics}\n  JSON log: {log}")
    return result


def _traffic(
    console: Console, stack: Stack, pool: tuple[Any, Any], receiver: WebhookReceiver
) -> tuple[bool, ...]:
    """Sends clean, noisy and drifted traffic, then the labels of every row, printing the drift and
    accuracy tables; returns whether: clean traffic stayed quiet, the estimate caught the noisy rows
    early, drift raised a critical alert, and the late labels raised a realized-accuracy alert."""
    held_out, labels = pool
    ledger = Ledger()
    with httpx.Client(timeout=30) as client:
        ids: list[str] = []
        sent = send_rows(client, stack.serving.url, clean_rows(held_out, CLEAN_ROWS, seed=1), request_ids=ids)
        ledger.add(ids, truth_of(labels, CLEAN_ROWS, seed=1))
        report = DriftReport.from_json(msgspec_json(wait_rows(client, stack, sent)))
        console.rule(f"Clean traffic: {sent:,} rows through /predict, severity {report.severity}")
        console.print(report.to_table())
        time.sleep(1.5)  # let the service evaluate the window at least twice
        quiet = not alerts_of(receiver)
        console.print("alerts after clean traffic: " + ("none" if quiet else "some (unexpected)"))
        sent, early = degraded_traffic(
            console, client, stack, pool, receiver, ledger, sent, ALERT_WAIT_SECONDS
        )
        ids = []
        rows = drifted_rows(held_out, DRIFTED_ROWS, seed=2)
        sent += send_rows(client, stack.serving.url, rows, request_ids=ids)
        ledger.add(ids, truth_of(labels, DRIFTED_ROWS, seed=2))
        report = DriftReport.from_json(msgspec_json(wait_rows(client, stack, sent)))
        console.rule(f"Drifted traffic: +{len(rows):,} rows with {', '.join(SHIFTED)} shifted")
        console.print(report.to_table())
        alerts = wait_alerts(receiver, lambda a: a["severity"] == "critical", ALERT_WAIT_SECONDS)
        console.print(_alerts_table(alerts))
        late = late_labels(console, client, stack, receiver, ledger, ALERT_WAIT_SECONDS)
        return quiet, early, any(a["severity"] == "critical" for a in alerts), late


def msgspec_json(value: dict[str, Any]) -> bytes:
    """JSON bytes of a decoded JSON value (to read it back as a typed report)."""

    return msgspec.json.encode(value)


def _urls(console: Console, stack: Stack, out: Path) -> None:
    base = f"{stack.drift.url}/v1/models/{MODEL}"
    html = httpx.get(f"{base}/report.html", timeout=30).text
    (out / "drift.html").write_text(html, encoding="utf-8")
    console.rule("Where to look")
    console.print(
        f"drift service (dashboard): {stack.drift.url}/\n"
        f"HTML report:               {base}/report.html  (saved to {out / 'drift.html'})\n"
        f"drift JSON:                {base}/drift\n"
        f"metrics:                   {stack.drift.url}/metrics\n"
        f"alerts:                    {stack.drift.url}/v1/alerts\n"
        f"production API:            {stack.serving.url}/version  (POST {stack.serving.url}/predict)\n"
        f"processes:                 drift service pid {stack.drift.proc.pid}, "
        f"production API pid {stack.serving.proc.pid}"
    )


def _wait_for_interrupt(console: Console) -> None:
    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    console.print("[bold]--keep-running[/]: the services stay up; press Ctrl-C to stop them.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_loop(out: Path, *, keep_running: bool = False, console: Console | None = None) -> int:
    """Runs the demo; returns 0 when clean traffic raised no alert, the noisy rows an estimated-accuracy
    alert, drifted traffic a critical one and the late labels a realized-accuracy alert."""
    console = console or Console(width=None if sys.stdout.isatty() else 132)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mlmon-demo-") as tmp, WebhookReceiver() as receiver:
        work = Path(tmp)
        database_url = f"sqlite:///{work / 'mlmon.db'}"
        stack = launch_stack(work, database_url=database_url, model=MODEL, webhook_url=receiver.url)
        try:
            files = train_example(work / "artifacts")  # while the services boot
            stack.wait_ready()
            console.print(
                f"[bold]Trained[/] a random forest on scikit-learn's breast-cancer data: {files.artifact}"
            )
            result = _deploy(console, work / "artifacts", stack, receiver, out)
            if result.exit_code != 0:
                console.print(f"[red]deploy failed[/] at {result.failed_step}: {result.error}")
                console.print(stack.drift.tail(800) + stack.serving.tail(800), markup=False)
                return 1
            pd = require("pandas", "pandas")

            # Traffic from rows the model never saw, as production's are; their labels come later.
            validation = pd.read_parquet(files.validation)
            pool = (validation.drop(columns=[TARGET]), validation[TARGET])
            quiet, early, caught, late = _traffic(console, stack, pool, receiver)
            _urls(console, stack, out)
            console.print(f"demo ran in {time.monotonic() - started:.1f} s")
            if keep_running:
                _wait_for_interrupt(console)
        finally:
            stack.stop()
        console.print("services stopped")
    return 0 if quiet and early and caught and late else 1
