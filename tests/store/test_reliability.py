"""Reliability under concurrency and faults: processes promoting at once, processes writing one window,
backends killed mid-transaction, the server restarted under a writer."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

import psycopg
import pytest
from store_workers import (
    MINUTE,
    T0,
    add_counts,
    counts,
    make_profile,
    promote_process,
    write_partials_process,
)

from mlmon.store import StoreUnavailableError, WindowPartial, open_store
from mlmon.store.testing import TemporaryPostgres

# spawn, not fork: the parent holds pool threads and the engine's thread pool.
_SPAWN = multiprocessing.get_context("spawn")
# A process pool whose child dies fails the test (BrokenProcessPool) instead of waiting forever, as
# multiprocessing.Pool does; the timeout bounds a child stuck on a lock.
_CHILD_SECONDS = 120
T = TypeVar("T")


def _in_two_processes(fn: Callable[..., T], *calls: tuple[object, ...]) -> list[T]:
    with ProcessPoolExecutor(2, mp_context=_SPAWN) as pool:
        futures = [pool.submit(fn, *args) for args in calls]
        return [f.result(timeout=_CHILD_SECONDS) for f in futures]


def test_processes_writing_one_window_sum_exactly(url: str) -> None:
    with open_store(url) as store:
        store.register_version("m", "v1")
    seeds = {f"p{i}": list(range(i * 20, i * 20 + 20)) for i in range(2)}
    rows = _in_two_processes(write_partials_process, *[(url, w, s) for w, s in seeds.items()])
    expected: dict[str, list[int]] = {}
    for seed in (s for group in seeds.values() for s in group):
        expected = add_counts(expected, counts(make_profile(seed)))
    with open_store(url) as store:
        merged = store.merged_profile("m", "v1", T0, T0 + MINUTE)
    assert counts(merged.profile) == expected
    assert merged.rows == sum(rows) == 2000


def test_processes_promoting_at_once_leave_one_production(url: str) -> None:
    with open_store(url) as store:
        for version in ("v1", "v2", "v3"):
            store.register_version("m", version)
    _in_two_processes(promote_process, (url, "v1", 25), (url, "v2", 25))
    with open_store(url) as store:
        stages = {v.version: v.stage for v in store.list_versions("m")}
        production = store.production_version("m")
    assert list(stages.values()).count("production") == 1
    assert production is not None and stages[production.version] == "production"
    assert sorted(stages.values()) == ["archived", "none", "production"]


def _backend_pid(tx: object) -> int:
    row = tx.one("SELECT pg_backend_pid()")  # type: ignore[attr-defined]
    return int(row[0])


@pytest.mark.postgres
def test_killed_backend_leaves_no_partial_write_and_the_pool_recovers(pg_url: str) -> None:
    with open_store(pg_url, max_size=2) as store:
        store._run(lambda tx: tx.execute("TRUNCATE models RESTART IDENTITY CASCADE"), write=True)  # type: ignore[attr-defined]
        store.register_version("m", "v1")
        profile = make_profile(1)

        def write_then_die(tx: object) -> None:
            tx.execute(  # type: ignore[attr-defined]
                "INSERT INTO window_partials (model_version_id, window_start, window_end, writer_id, profile,"
                " row_count, created_at) VALUES (1, ?, ?, 'w', ?, 50, ?)",
                (T0, T0 + MINUTE, profile, T0),
            )
            with psycopg.connect(pg_url, autocommit=True) as killer:
                killer.execute("SELECT pg_terminate_backend(%s)", (_backend_pid(tx),))
            tx.execute("SELECT 1")  # type: ignore[attr-defined]

        with pytest.raises(StoreUnavailableError):
            store._run(write_then_die, write=True)  # type: ignore[attr-defined]
        assert store.merged_profile("m", "v1", T0, T0 + MINUTE).partials == 0
        store.write_partials([WindowPartial("m", "v1", T0, T0 + MINUTE, "w", profile, 50)])
        assert store.merged_profile("m", "v1", T0, T0 + MINUTE).rows == 50


@pytest.fixture
def own_server(pg_server: object) -> Iterator[TemporaryPostgres]:
    """A private server this test may crash (the session's server stays up)."""
    with TemporaryPostgres() as server:
        yield server


@pytest.mark.postgres
def test_server_restart_under_a_writer_loses_nothing_committed(own_server: TemporaryPostgres) -> None:
    url = own_server.create_database("restart")
    acked: list[int] = []
    failures: list[BaseException] = []
    stop = threading.Event()
    # The outage (1.5 s) outlasts the pool's wait for a connection (0.5 s), so the writer must see
    # it whatever the timing; a shorter outage can be absorbed by the pool and prove nothing.
    with open_store(url, max_size=2, timeout=0.5) as store:
        store.register_version("m", "v1")

        def writer() -> None:
            seq = 0
            while not stop.is_set():
                seq += 1
                part = WindowPartial("m", "v1", T0, T0 + MINUTE, f"s{seq}", make_profile(seq, 10), 10)
                try:
                    store.write_partials([part])
                    acked.append(seq)
                except StoreUnavailableError as exc:
                    failures.append(exc)
                    time.sleep(0.05)

        thread = threading.Thread(target=writer)
        thread.start()
        time.sleep(0.5)
        own_server.stop("immediate")  # a crash: recovery replays the WAL
        time.sleep(1.5)
        own_server.start()
        deadline = time.monotonic() + 10
        before = len(acked)
        while len(acked) < before + 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        thread.join()
        stored = store._run(  # type: ignore[attr-defined]
            lambda tx: {int(r[0][1:]) for r in tx.all("SELECT writer_id FROM window_partials")}, write=False
        )
    assert failures, "the writer never saw the outage: the test did not test anything"
    assert len(acked) > before, "the writer did not reconnect after the restart"
    assert set(acked) <= stored  # every acknowledged write survived the crash
    # A write whose commit outcome was unknown may be stored without an ack; nothing else may be.
    assert len(stored - set(acked)) <= len(failures)
