"""pytest-benchmark suite for the store, on SQLite and PostgreSQL: the write throughput of window
partials (group commit of N partials per transaction) and the latency of a drift read merging a day of
1-minute partials for 25 features.

The profiles come from ``mlmon.bench.workloads.store``, the ones ``mlmon bench``'s kernels step writes
(SQLite only there). `make bench-pytest` times it; `make test` runs each benchmark once as a plain test
(`--benchmark-disable`), which also checks the merge is exact. PostgreSQL runs on a throwaway server
with fsync on (as in production); SQLite runs with synchronous=FULL. Figures go in benches/README.md.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlmon._engine import decode_profile
from mlmon.bench.workloads.store import FEATURES, MINUTE, T0, minute_partials
from mlmon.bench.workloads.store import profiles as make_profiles
from mlmon.store import Store, open_store

Bench = Any
DAY_MINUTES = 24 * 60
_ids = itertools.count()


@pytest.fixture(scope="module")
def profiles() -> list[bytes]:
    return make_profiles(16)


@pytest.fixture(scope="module")
def pg_server() -> Iterator[Any]:
    try:
        from mlmon.store.testing import TemporaryPostgres

        server = TemporaryPostgres(durable=True).__enter__()
    except Exception as exc:
        reason = f"PostgreSQL server unavailable: {type(exc).__name__}: {exc}"
        if os.environ.get("MLMON_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    yield server
    server.cleanup()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bench.db'}"
    else:
        url = request.getfixturevalue("pg_server").create_database(f"bench{next(_ids)}")
    with open_store(url) as opened:
        opened.register_version("m", "v1")
        yield opened


@pytest.mark.parametrize("group", [1, 100])
@pytest.mark.benchmark(group="store-write-partials")
def test_write_partials(benchmark: Bench, store: Store, profiles: list[bytes], group: int) -> None:
    minutes = itertools.count()

    def write() -> None:
        store.write_partials(minute_partials(profiles, 1, next(minutes), group))

    benchmark.pedantic(
        write, rounds=20 if benchmark.enabled else 1, warmup_rounds=1 if benchmark.enabled else 0
    )
    if benchmark.enabled:
        benchmark.extra_info["partials_per_s"] = round(group / benchmark.stats.stats.mean)
    written = next(minutes)
    assert store.merged_profile("m", "v1", T0, T0 + written * MINUTE).rows == 1000 * group * written


@pytest.mark.benchmark(group="store-merge-day")
def test_merge_a_day_of_minutes(benchmark: Bench, store: Store, profiles: list[bytes]) -> None:
    store.write_partials(minute_partials(profiles, DAY_MINUTES))
    merged = benchmark(store.merged_profile, "m", "v1", T0, T0 + DAY_MINUTES * MINUTE)
    assert (merged.rows, merged.partials) == (1000 * DAY_MINUTES, DAY_MINUTES)
    features = decode_profile(merged.profile)
    assert len(features) == FEATURES and all(part.total == 1000 * DAY_MINUTES for _, part in features)
