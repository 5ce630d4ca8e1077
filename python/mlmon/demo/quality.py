"""The demo's model-quality half: a degraded instrument that the label-free estimate catches before any
label exists, then the labels of every row so far arriving late, and the realized accuracy's drop.

Every row the demo sends through ``/predict`` comes back with a request id; :class:`Ledger` keeps it
with the row's true label (the demo's traffic is drawn from the held-out set, whose labels it knows).
The labels go to the drift service through the public client (``DriftClient.send_labels``), as a
feedback job would send them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from mlmon.client import DriftClient
from mlmon.demo.processes import WebhookReceiver
from mlmon.demo.stack import Stack, wait_rows
from mlmon.demo.traffic import noisy_rows, send_rows, truth_of

__all__ = ["Ledger", "alerts_of", "degraded_traffic", "late_labels", "wait_alerts"]

NOISY_ROWS = 2500
LABEL_BATCH = 1000


@dataclass
class Ledger:
    """The request ids of the rows sent so far and their true labels, in order."""

    request_ids: list[str] = field(default_factory=list)
    truth: list[Any] = field(default_factory=list)

    def add(self, ids: list[str], truth: list[Any]) -> None:
        """Records a phase's rows (``ids`` as the API answered them, ``truth`` from the same draw)."""
        if len(ids) != len(truth):
            raise ValueError(f"{len(ids)} request ids for {len(truth)} labels")
        self.request_ids += ids
        self.truth += truth


def alerts_of(receiver: WebhookReceiver) -> list[dict[str, Any]]:
    """The alerts the webhook received so far."""
    return [a for a in receiver.received() if isinstance(a, dict) and "severity" in a]


def wait_alerts(
    receiver: WebhookReceiver, wanted: Callable[[dict[str, Any]], bool], timeout: float
) -> list[dict[str, Any]]:
    """Every alert received once one ``wanted`` has come (or ``timeout`` seconds passed), after a second
    for the others of the same evaluation."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(wanted(a) for a in alerts_of(receiver)):
            time.sleep(1.0)
            break
        time.sleep(0.1)
    return alerts_of(receiver)


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"


def performance_table(perf: dict[str, Any], title: str) -> Table:
    """The range's accuracy: reference (validation), estimated (CBPE) and realized (labels)."""
    total = perf["total"]
    estimate, realized = total.get("estimate") or {}, total.get("realized") or {}
    table = Table(title=title)
    for column in ("source", "accuracy", "rows"):
        table.add_column(column)
    table.add_row("reference (validation set)", _fmt(perf["reference"].get("accuracy")), "")
    table.add_row("estimated before labels (CBPE)", _fmt(estimate.get("accuracy")), f"{total['estimated']:,}")
    table.add_row("realized from labels", _fmt(realized.get("accuracy")), f"{total['labelled']:,}")
    labels = perf["labels"]
    table.caption = (
        f"label join: {labels['labelled']:,} labelled, {labels['waiting']:,} waiting, "
        f"{labels['pending']:,} labels pending"
    )
    return table


def _performance(client: httpx.Client, stack: Stack) -> dict[str, Any]:
    url = f"{stack.drift.url}/v1/models/{stack.model}/performance"
    response = client.get(url, headers=stack.read_headers())
    response.raise_for_status()
    found: dict[str, Any] = response.json()
    return found


def _is(prefix: str) -> Callable[[dict[str, Any]], bool]:
    return lambda a: str(a.get("feature", "")).startswith(prefix)


def degraded_traffic(
    console: Console,
    client: httpx.Client,
    stack: Stack,
    pool: tuple[Any, Any],
    receiver: WebhookReceiver,
    ledger: Ledger,
    sent: int,
    timeout: float,
) -> tuple[int, bool]:
    """Sends noisy rows; returns ``(rows sent in all, whether the estimate raised an alert)``."""
    features, labels = pool
    ids: list[str] = []
    sent += send_rows(client, stack.serving.url, noisy_rows(features, NOISY_ROWS, seed=3), request_ids=ids)
    ledger.add(ids, truth_of(labels, NOISY_ROWS, seed=3))
    wait_rows(client, stack, sent)
    console.rule(f"Degraded instrument: +{NOISY_ROWS:,} rows with noise on every feature, no label yet")
    alerts = wait_alerts(receiver, _is("estimated:"), timeout)
    console.print(performance_table(_performance(client, stack), "Model accuracy before any label"))
    early = [a for a in alerts if _is("estimated:")(a)]
    for a in early:
        console.print(f"alert: {a['severity']} {a['feature']} {_fmt(a.get('score'))} (label-free, early)")
    return sent, bool(early)


def late_labels(
    console: Console,
    client: httpx.Client,
    stack: Stack,
    receiver: WebhookReceiver,
    ledger: Ledger,
    timeout: float,
) -> bool:
    """Sends the labels of every row so far through the client; returns whether the realized accuracy
    raised an alert."""
    matched = pending = 0
    with DriftClient(stack.drift.url, stack.model, token=stack.ingest_token, close_timeout=1.0) as feedback:
        for start in range(0, len(ledger.request_ids), LABEL_BATCH):
            stop = start + LABEL_BATCH
            receipt = feedback.send_labels(ledger.request_ids[start:stop], ledger.truth[start:stop])
            matched, pending = matched + receipt.matched, pending + receipt.pending
    console.rule(f"Labels arrive late: {len(ledger.truth):,} sent, {matched:,} joined, {pending:,} pending")
    alerts = wait_alerts(receiver, _is("performance:"), timeout)
    console.print(performance_table(_performance(client, stack), "Model accuracy once the labels are in"))
    late = [a for a in alerts if _is("performance:")(a)]
    for a in late:
        console.print(f"alert: {a['severity']} {a['feature']} {_fmt(a.get('score'))} (realized, late)")
    return bool(late)
