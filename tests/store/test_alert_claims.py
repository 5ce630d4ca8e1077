"""Alert claims (one alert per model version, feature and severity per cooldown, however many workers
race for it) and the per-sink delivery log, on both backends."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from store_workers import MINUTE, T0

from mlmon.exceptions import InputError
from mlmon.store import Alert, Store, open_store

_HOUR = timedelta(hours=1)


def _claim(store: Store, sha: str, cooldown: timedelta = _HOUR, **kw: object) -> Alert | None:
    args: dict[str, object] = {"feature": "age", "severity": "critical", "score": 0.9, **kw}
    return store.claim_alert(
        "m", "v1", window_start=T0, window_end=T0 + MINUTE, baseline_sha256=sha, cooldown=cooldown, **args
    )  # type: ignore[arg-type]


@pytest.fixture
def sha(store: Store) -> str:
    store.register_version("m", "v1")
    return store.put_baseline("m", "v1", b"reference bytes")


def test_claim_once_per_cooldown_and_key(store: Store, sha: str) -> None:
    first = _claim(store, sha)
    assert first is not None and first.state == "pending"
    assert _claim(store, sha) is None
    assert _claim(store, sha, severity="warning") is not None  # another severity is another key
    assert _claim(store, sha, feature="plan") is not None
    assert _claim(store, sha, feature=None) is not None  # the overall alert
    assert _claim(store, sha, feature=None) is None
    assert _claim(store, sha, cooldown=timedelta(0)) is not None  # no cooldown: always
    assert len(store.list_alerts("m", limit=100)) == 5
    with pytest.raises(InputError, match="cooldown"):
        _claim(store, sha, cooldown=timedelta(seconds=-1))


def test_racing_claimers_raise_one_alert(url: str, sha: str) -> None:
    # Eight threads with their own store (own connections) claim the same key at once.
    barrier = threading.Barrier(8)
    won: list[Alert | None] = []

    def claim() -> None:
        with open_store(url, upgrade=False) as own:
            barrier.wait()
            won.append(_claim(own, sha))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(won) == 8 and sum(a is not None for a in won) == 1


def test_delivery_log_per_sink(store: Store, sha: str) -> None:
    alert = _claim(store, sha)
    assert alert is not None
    store.record_delivery(alert.id, ok=False, error="HTTP 500", sink="slack")
    store.record_delivery(alert.id, ok=True, sink="slack")
    final = store.record_delivery(alert.id, ok=True, sink="email")
    assert (final.state, final.delivery_attempts) == ("sent", 3)
    log = store.list_deliveries(alert.id)
    assert [(d.sink, d.ok, d.error) for d in log] == [("slack", False, "HTTP 500"), ("slack", True, None),
                                                      ("email", True, None)]  # fmt: skip
    assert store.list_deliveries(alert.id + 1000) == []
    with pytest.raises(InputError, match="sink"):
        store.record_delivery(alert.id, ok=True, sink="bad sink!")
