"""The outputs-and-labels figures of ``mlmon bench`` (``mlmon.bench.labels``) in their tiny sizes (seconds),
and the wrk bodies with a request id per row: every occurrence of the id placeholder is replaced by the
request's id, in Python as ingest.lua does it and by ingest.lua itself under wrk (when wrk is there)."""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import msgspec
import pytest

from mlmon.bench import labels, report
from mlmon.bench.load import wrk_bench
from mlmon.bench.modes import MODES, STEPS
from mlmon.bench.service import parse_markdown_tables
from mlmon.service.ingest.decode import decode_envelope

ID = "T01" + "7" * 13  # a request's id, as ingest.lua makes them: the placeholder's length


def test_the_labels_step_measures_both_sides_in_tiny_mode() -> None:
    assert "labels" in STEPS and "labels" in (MODES["store"].steps or [])
    out = labels.run_labels(MODES["tiny"].labels, ["sqlite"], budget_s=5)
    stage = out["stage"]
    assert stage["where"] == "in-process, no HTTP" and stage["kept_predictions"] == 1000
    assert stage["count_extract_s"] > stage["count_s"] > 0 and stage["ratio"] > 1
    (store,) = out["stores"]
    commit, join, disk = store["commit"], store["join"], store["disk"]
    assert commit["group"] == 16 and commit["commits"] >= 1
    assert commit["plain_batches_s"] > 0 and commit["outputs_batches_s"] > 0
    assert join["batches"] >= 1 and min(join["matched_labels_s"], join["pending_labels_s"]) > 0
    # The realized counts cover the joined rows, the estimate every ingested row.
    assert join["realized_rows"] == 1000 * join["batches"] and join["estimate_rows"] >= join["realized_rows"]
    assert join["realized_bytes"] > 0 and join["estimate_bytes"] > 0
    # A kept prediction holds at least its 36-character id, its class and 16 bytes of scores.
    assert disk["predictions"] >= 1000 and disk["bytes_per_prediction"] > 36 + 16
    mem = out["memory"]
    assert mem["outputs_entry_bytes"] > mem["plain_entry_bytes"] > 0
    text = report._labels({"labels": out, "steps": {}})
    tables = parse_markdown_tables(text)
    assert len(tables) == 5 and "in-process, no HTTP" in text
    assert {r["backend"] for r in tables[1]} == {"sqlite"}


def test_a_backend_that_cannot_run_is_a_row_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("no PostgreSQL here")

    monkeypatch.setattr(labels, "_backend", unavailable)
    sizes = msgspec.structs.replace(MODES["tiny"].labels, stage_runs=1, entries=1)
    out = labels.run_labels(sizes, ["postgres"], budget_s=1)
    assert out["stores"] == [{"backend": "postgres", "error": "skipped: RuntimeError: no PostgreSQL here"}]
    rows = parse_markdown_tables(report._labels({"labels": out, "steps": {}}))[1]
    assert rows[0]["drift counts only"] == "skipped: RuntimeError: no PostgreSQL here"


def _as_lua_does(data: bytes, rid: str) -> bytes:
    """ingest.lua's request(): the body cut at every placeholder, joined with the request's id."""
    return rid.encode().join(data.split(wrk_bench.PLACEHOLDER.encode()))


_PATHS = {
    "msgpack-outputs": "/v1/models/loadout/ingest",
    "labels-pending": "/v1/models/loadout/labels",
}


@pytest.mark.parametrize("kind", sorted(wrk_bench.MEDIA))
def test_every_placeholder_becomes_the_requests_id(kind: str, tmp_path: Path) -> None:
    raw = _as_lua_does(wrk_bench.write_body(kind, tmp_path).read_bytes(), ID)
    fmt = "json" if kind == "json-lists" else "msgpack"
    doc = msgspec.json.decode(raw) if fmt == "json" else msgspec.msgpack.decode(raw)
    with_ids = kind in _PATHS
    assert doc.get("request_ids") == ([f"{ID}-{i:05d}" for i in range(1000)] if with_ids else None)
    assert wrk_bench.ingest_path(kind) == _PATHS.get(kind, "/v1/models/load/ingest")
    if kind == "labels-pending":
        assert "batch_id" not in doc and len(doc["labels"]) == 1000
        return
    envelope = decode_envelope(raw, fmt)  # what the service reads
    assert envelope.batch_id == ID and envelope.request_ids == doc.get("request_ids")


class _Recorder(http.server.BaseHTTPRequestHandler):
    bodies: ClassVar[list[bytes]] = []
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.lock:
            if len(self.bodies) < 30:
                self.bodies.append(body)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.bodies = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not on the PATH")
def test_ingest_lua_puts_a_fresh_id_in_every_placeholder(recorder: str, tmp_path: Path) -> None:
    body = wrk_bench.write_body("msgpack-outputs", tmp_path)
    env = {**os.environ, "BODY_FILE": str(body), "CONTENT_TYPE": "application/msgpack"}
    env.update(INGEST_PATH="/ingest", RUN_TAG="T")
    cmd = ["wrk", "-t1", "-c1", "-d1s", "-s", str(Path(wrk_bench.HERE) / "ingest.lua"), recorder]
    subprocess.run(cmd, env=env, capture_output=True, timeout=30, check=True)
    seen = [decode_envelope(b, "msgpack") for b in _Recorder.bodies]
    assert len(seen) >= 2
    batch_ids = [e.batch_id for e in seen]
    assert len(set(batch_ids)) == len(seen) and all(b.startswith("T01") and len(b) == 16 for b in batch_ids)
    for e in seen:
        assert e.request_ids == [f"{e.batch_id}-{i:05d}" for i in range(1000)]
