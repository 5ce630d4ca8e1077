"""Drift results and alerts, the same on both backends."""

from __future__ import annotations

import pytest
from store_workers import MINUTE, T0

from mlmon.exceptions import InputError
from mlmon.store import DriftResult, NotFoundError, Store


@pytest.fixture
def baseline(store: Store) -> str:
    store.register_version("m", "v1")
    store.register_version("m", "v2")
    return store.put_baseline("m", "v1", b"reference bytes")


def result(minute: int, score: float | None, sha: str, feature: str = "age") -> DriftResult:
    start = T0 + minute * MINUTE
    severity = "insufficient_data" if score is None else ("critical" if score > 0.5 else "ok")
    return DriftResult(start, start + MINUTE, feature, score, severity, sha, {"p_value": 0.01, "count": 10})


def test_history_is_ordered_and_filtered(store: Store, baseline: str) -> None:
    store.put_drift_results("m", "v1", [result(2, 0.7, baseline), result(0, 0.1, baseline)])
    store.put_drift_results("m", "v1", [result(1, None, baseline), result(1, 0.3, baseline, feature="plan")])
    store.put_drift_results("m", "v2", [result(3, 0.05, baseline)])
    history = store.drift_history("m", "age", T0, T0 + 10 * MINUTE)
    assert [(h.version, h.score) for h in history] == [("v1", 0.1), ("v1", None), ("v1", 0.7), ("v2", 0.05)]
    assert history[2].severity == "critical" and history[2].details == {"p_value": 0.01, "count": 10}
    assert history[0].baseline_sha256 == baseline
    assert [h.score for h in store.drift_history("m", "age", T0, T0 + 10 * MINUTE, version="v2")] == [0.05]
    assert len(store.drift_history("m", "age", T0 + MINUTE, T0 + 2 * MINUTE)) == 1


def test_recomputing_a_window_replaces_the_result(store: Store, baseline: str) -> None:
    store.put_drift_results("m", "v1", [result(0, 0.1, baseline)])
    store.put_drift_results("m", "v1", [result(0, 0.9, baseline)])
    assert [h.score for h in store.drift_history("m", "age", T0, T0 + MINUTE)] == [0.9]


def test_results_must_reference_a_stored_baseline(store: Store, baseline: str) -> None:
    with pytest.raises(NotFoundError, match="baseline"):
        store.put_drift_results("m", "v1", [result(0, 0.1, "f" * 64)])
    assert store.drift_history("m", "age", T0, T0 + MINUTE) == []


def test_bad_results_are_refused(store: Store, baseline: str) -> None:
    with pytest.raises(InputError, match="NaN"):
        store.put_drift_results("m", "v1", [result(0, float("nan"), baseline)])
    bad = DriftResult(T0, T0 + MINUTE, "age", 0.1, "bad", baseline)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="severity"):
        store.put_drift_results("m", "v1", [bad])
    with pytest.raises(NotFoundError):
        store.drift_history("ghost", "age", T0, T0 + MINUTE)


def test_alert_lifecycle(store: Store, baseline: str) -> None:
    alert = store.add_alert(
        "m",
        "v1",
        window_start=T0,
        window_end=T0 + MINUTE,
        feature="age",
        severity="critical",
        score=0.8,
        baseline_sha256=baseline,
    )
    assert (alert.state, alert.delivery_attempts, alert.baseline_sha256) == ("pending", 0, baseline)
    failed = store.record_delivery(alert.id, ok=False, error="timeout")
    assert (failed.state, failed.delivery_attempts, failed.last_error) == ("failed", 1, "timeout")
    sent = store.record_delivery(alert.id, ok=True)
    assert (sent.state, sent.delivery_attempts, sent.last_error) == ("sent", 2, None)
    overall = store.add_alert(
        "m",
        "v2",
        window_start=T0,
        window_end=T0 + MINUTE,
        feature=None,
        severity="warning",
        score=None,
        baseline_sha256=baseline,
    )
    assert [a.id for a in store.list_alerts("m")] == [overall.id, alert.id]
    assert [a.id for a in store.list_alerts("m", state="sent")] == [alert.id]
    assert [a.id for a in store.list_alerts("m", version="v2")] == [overall.id]
    assert store.list_alerts("m", since=sent.created_at, limit=1)[0].id == overall.id
    with pytest.raises(NotFoundError):
        store.record_delivery(10_000, ok=True)
