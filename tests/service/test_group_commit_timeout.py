"""The group committer's deadline: a waiter gives up with a 503-worthy error when its commit does not
land in time, a client that goes away does not cancel the commit, and a batch whose commit lands after
its waiter gave up is counted once (its retry is a duplicate). The hung database is a real SQLite file
whose writer lock another connection holds."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

import mlmon
from mlmon.service.ingest.commit import GroupCommitter
from mlmon.store import IngestBatch, PartialWindow, StoreUnavailableError, open_store

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _batch(key: str) -> IngestBatch:
    baseline = mlmon.Baseline.fit({"x": np.arange(100.0)})
    monitor = mlmon.Monitor(baseline)
    monitor.update({"x": np.arange(10.0)})
    part = PartialWindow(T0, T0 + timedelta(minutes=1), monitor._open.counts.to_bytes(), 10)
    return IngestBatch(batch_id=key, digest=f"digest-{key}", partials=[part])


def _rows(url: str) -> int:
    with open_store(url) as store:
        return store.merged_profile("m", "v1", T0, T0 + timedelta(minutes=1)).rows


@pytest.mark.skipif(sys.platform == "win32", reason="the writer lock is an flock")
def test_a_commit_past_its_deadline_is_unknown_and_lands_once(tmp_path: Path) -> None:
    db = tmp_path / "hung.db"
    url = f"sqlite:///{db}"
    store = open_store(url, timeout=5.0)
    store.register_version("m", "v1")
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the database is hung for writers until this ends

    async def run() -> tuple[float, str]:
        committer = GroupCommitter(store, "w0", commit_timeout=0.3)
        committer.start()
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match=r"did not answer within 0\.3 s"):
            await committer.submit("m", "v1", _batch("late"))
        waited = time.monotonic() - started
        # A client that disconnects cancels its own wait, never the commit.
        gone = asyncio.ensure_future(committer.submit("m", "v1", _batch("gone")))
        await asyncio.sleep(0.05)
        gone.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gone
        blocker.execute("ROLLBACK")  # the database answers again: the queued commits land
        retry = await committer.submit("m", "v1", _batch("late"))
        await committer.stop()
        store.close()
        return waited, retry

    waited, retry = asyncio.run(run())
    blocker.close()
    assert 0.25 < waited < 2.0
    assert retry == "duplicate"
    assert _rows(url) == 20  # "late" once and "gone" once
