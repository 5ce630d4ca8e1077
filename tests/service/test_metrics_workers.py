"""Metrics with two workers (prometheus-client multiprocess mode): each worker writes its own values,
``/metrics`` (whichever worker answers) shows their sums, and the sums equal what was ingested."""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from service_helpers import MSGPACK, body, mp, start_service

import mlmon

pytestmark = pytest.mark.e2e

_BATCHES, _ROWS = 60, 150


def _sum(text: str, prefix: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))


def _per_process(directory: Path, prefix: str) -> list[float]:
    # Each worker's own file, read alone through the public collector (a directory per file).
    values = []
    for file in sorted(directory.glob("counter_*.db")):
        alone = directory.parent / f"alone-{file.stem}"
        alone.mkdir()
        shutil.copy(file, alone / file.name)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(alone))  # type: ignore[no-untyped-call]
        values.append(_sum(generate_latest(registry).decode(), prefix))
    return values


@pytest.fixture
def service(tmp_path: Path, baseline: mlmon.Baseline) -> Iterator[tuple[str, Path]]:
    prom = tmp_path / "prom"
    prom.mkdir()
    proc, url = start_service(
        f"sqlite:///{tmp_path / 'svc.db'}", tmp_path / "server.log", workers=2,
        PROMETHEUS_MULTIPROC_DIR=str(prom),
    )  # fmt: skip
    try:
        assert httpx.put(
            f"{url}/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes()
        ).is_success
        yield url, prom
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def test_counters_sum_over_two_workers(service: tuple[str, Path]) -> None:
    url, prom = service

    def send(i: int) -> None:
        # A new connection per request, eight at a time: both workers take some.
        data = mp(body(f"m{i}", _ROWS, seed=i))
        r = httpx.post(f"{url}/v1/models/churn/ingest", content=data, headers=MSGPACK, timeout=30)
        assert r.status_code == 200, r.text

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, range(_BATCHES)))
    rows = 'mlmon_rows_ingested_total{model="churn",version="v1"}'
    per_worker = _per_process(prom, rows)
    assert len([v for v in per_worker if v > 0]) == 2, per_worker  # both workers counted some
    assert sum(per_worker) == _BATCHES * _ROWS
    for _ in range(6):  # whichever worker answers, the merged figures are the sums
        text = httpx.get(f"{url}/metrics").text
        assert _sum(text, rows) == _BATCHES * _ROWS
        assert _sum(text, 'mlmon_batches_ingested_total{model="churn",version="v1"}') == _BATCHES
        assert _sum(text, "mlmon_ingest_duration_seconds_count") == _BATCHES
        assert 'mlmon_build_info{version="' in text
