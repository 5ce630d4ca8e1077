"""S2 hostile names and S3 label cardinality, on a real 2-worker process.

S2: SQL-shaped, path-shaped, quote/newline, 10 KB and zero-width names as model, version, batch id and
feature are refused with 404/422 (never 2xx or 5xx), the schema and the counts stay intact, and
``promtool check metrics`` accepts /metrics. S3: 10,000 unknown feature names are all 422 and the
/metrics series count does not move; no hostile or unknown name becomes a label.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from harness import Cluster, reported_rows
from rel_results import record
from service_helpers import MSGPACK, body, mp

import mlmon
import system_tools

pytestmark = pytest.mark.e2e

HOSTILE = [
    "x'); DROP TABLE models;--",
    "../../etc/passwd",
    "..\\..\\windows\\win.ini",
    'a"}\n{"evil":1',
    "a" * 10_000,
    "a\u200bb",
    "a\u202eb",
    "<script>alert(1)</script>",
    "model#fragment",
    "m\x00n",
    "%2e%2e%2f",
    "",
]
TABLES = {"models", "model_versions", "baselines", "window_partials", "ingested_batches"}


def _series(metrics: str) -> list[str]:
    return sorted(line.split(" ")[0] for line in metrics.splitlines() if line and not line.startswith("#"))


def _promtool(text: str, tmp_path: Path) -> None:
    promtool = system_tools.require("promtool")
    path = tmp_path / "metrics.txt"
    path.write_text(text)
    with path.open("rb") as f:
        done = subprocess.run([promtool, "check", "metrics"], stdin=f, capture_output=True, timeout=60)
    # promtool exits 1 for lint hints too (such as counters without _total); only errors fail here.
    assert b"error" not in done.stderr.lower() and b"error" not in done.stdout.lower(), done


def _tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_hostile_names_are_refused_and_change_nothing(tmp_path: Path, baseline: mlmon.Baseline) -> None:
    started = time.monotonic()
    db = tmp_path / "s2.db"
    statuses: list[int] = []
    with Cluster(f"sqlite:///{db}", tmp_path / "server.log", processes=1) as cluster:
        url = cluster.urls[0]
        cluster.upload_baseline(baseline)
        ok = httpx.post(f"{url}/v1/models/churn/ingest", content=mp(body("legit", 40)), headers=MSGPACK)
        assert ok.status_code == 200
        with httpx.Client(timeout=30) as c:
            for name in HOSTILE:
                enc = quote(name, safe="")
                attempts = [
                    c.post(f"{url}/v1/models/{enc}/ingest", content=mp(body("b1", 5)), headers=MSGPACK),
                    c.put(f"{url}/v1/models/{enc}/versions/v1/baseline", content=baseline.to_bytes()),
                    c.put(f"{url}/v1/models/churn/versions/{enc}/baseline", content=baseline.to_bytes()),
                    c.get(f"{url}/v1/models/{enc}/drift"),
                    c.get(f"{url}/v1/models/churn/drift/history", params={"feature": name}),
                    c.get(f"{url}/v1/models/churn/drift", params={"version": name}),
                    c.post(f"{url}/v1/models/churn/ingest", content=mp(body(name, 5)), headers=MSGPACK),
                    c.post(
                        f"{url}/v1/models/churn/ingest",
                        headers=MSGPACK,
                        content=mp({"batch_id": "h", "columns": {name: [1.0]}}),
                    ),
                    c.post(
                        f"{url}/v1/models/churn/ingest",
                        headers=MSGPACK,
                        content=mp({**body("h2", 5), "version": name}),
                    ),
                ]
                for r in attempts:
                    statuses.append(r.status_code)
                    # An empty query value means "not given" (the default version); history is a read.
                    query_ok = (r.request.url.path.endswith("/history") or not name) and r.status_code == 200
                    history_ok = query_ok and r.request.method == "GET"
                    assert r.status_code in (400, 404, 405, 422) or history_ok, (
                        name[:40],
                        r.request.url,
                        r.text,
                    )
            metrics = c.get(f"{url}/metrics").text
            models = c.get(f"{url}/v1/models").json()
        assert [m["name"] for m in models] == ["churn"]
        assert reported_rows(url) == 40
    assert _tables(db) >= TABLES
    for name in HOSTILE:
        if len(name) > 3:
            assert name not in metrics
    _promtool(metrics, tmp_path)
    record("S2 hostile names", load=f"{len(statuses)} requests, {len(HOSTILE)} names x 9 places",
           faults="SQL, path traversal, quotes/newlines, 10 KB, zero-width, NUL", sent=len(statuses), acked=0,
           lost=0, duplicates=0, five_xx=sum(s >= 500 for s in statuses), peak_rss_mib=None,
           seconds=time.monotonic() - started)  # fmt: skip


def test_unknown_feature_names_add_no_series(tmp_path: Path, baseline: mlmon.Baseline) -> None:
    started = time.monotonic()
    with Cluster(f"sqlite:///{tmp_path / 's3.db'}", tmp_path / "server.log", processes=1) as cluster:
        url = cluster.urls[0]
        cluster.upload_baseline(baseline)
        with httpx.Client(timeout=30) as c:

            def unknown(i: int, n: int = 1) -> int:
                cols = {f"feat_{i}_{j}": [1.0] for j in range(n)}
                data = mp({"batch_id": f"u{i}", "columns": cols})
                return c.post(f"{url}/v1/models/churn/ingest", content=data, headers=MSGPACK).status_code

            assert unknown(-1) == 422  # the first refusal creates its (bounded) series
            assert c.post(
                f"{url}/v1/models/churn/ingest", content=mp(body("ok", 10)), headers=MSGPACK
            ).is_success
            c.get(f"{url}/metrics")  # its own request series exist from the second scrape on
            before = _series(c.get(f"{url}/metrics").text)
            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(unknown, range(10_000)))
            statuses.append(unknown(10_001, 10_000))  # all of them in one body
            after_text = c.get(f"{url}/metrics").text
        assert set(statuses) == {422}, set(statuses)
        after = _series(after_text)
        assert after == before
        assert "feat_" not in after_text
        _promtool(after_text, tmp_path)
    record("S3 label cardinality", load="10,001 requests, 20,000 unknown feature names",
           faults="unknown columns",
           sent=len(statuses), acked=0, lost=0, duplicates=0, five_xx=sum(s >= 500 for s in statuses),
           peak_rss_mib=None, seconds=time.monotonic() - started, series=len(after))  # fmt: skip
