"""The Grafana dashboard: valid JSON with unique panel ids and non-overlapping grid positions; it shows
drift per feature over time, ingestion rate, latency, alerts and the model's performance (realized,
estimated, reference) with the labels' outcomes; every panel query and template variable
reads only metrics the service exports (names from a live registry, not a list kept here)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kustomize_render import build
from prom_rules import DASHBOARD, ROOT, exported_metrics, metrics_in


def _dashboard() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return doc


def _panels() -> list[dict[str, Any]]:
    return [p for p in _dashboard()["panels"] if p["type"] != "row"]


def test_structure() -> None:
    dash = _dashboard()
    assert dash["uid"] and dash["title"] and dash["schemaVersion"] >= 36
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in dash["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        mine = {
            (x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not mine & cells, f"{panel['title']} overlaps another panel"
        cells |= mine


def test_every_query_reads_exported_metrics() -> None:
    exported = exported_metrics()
    queries = [(p["title"], t["expr"]) for p in _panels() for t in p.get("targets", [])]
    queries += [
        (v["name"], v["definition"]) for v in _dashboard()["templating"]["list"] if v["type"] == "query"
    ]
    assert len(queries) >= 10
    for title, expr in queries:
        names = metrics_in(expr)
        assert names, f"{title}: the query names no mlmon metric"
        assert names <= exported, f"{title}: {names - exported} is not exported by the service"


def test_panels_without_queries_are_alert_lists() -> None:
    for panel in _panels():
        assert panel.get("targets") or panel["type"] == "alertlist", panel["title"]


@pytest.mark.parametrize(
    ("topic", "metric", "grouped_by"),
    [
        ("drift per feature", "mlmon_feature_drift_score", "feature"),
        ("ingestion rate", "mlmon_rows_ingested_total", "model"),
        ("latency", "mlmon_http_request_duration_seconds_bucket", "le"),
        ("latency", "mlmon_ingest_duration_seconds_bucket", "le"),
        ("model performance by source", "mlmon_model_performance", "source"),
        ("labels by outcome", "mlmon_labels_total", "outcome"),
    ],
)
def test_required_views(topic: str, metric: str, grouped_by: str) -> None:
    exprs = [t["expr"] for p in _panels() if p["type"] == "timeseries" for t in p["targets"]]
    assert any(metric in e and grouped_by in e for e in exprs), topic


def test_alerts_are_shown() -> None:
    kinds = {p["type"] for p in _panels()}
    assert "alertlist" in kinds
    assert any("mlmon_alerts_" in t["expr"] for p in _panels() for t in p.get("targets", []))


def test_shipped_as_a_labelled_config_map() -> None:
    docs = build(ROOT / "k8s" / "overlays" / "production")
    cm = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "mlmon-dashboard")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(cm["data"][DASHBOARD.name]) == _dashboard()


def test_checker_catches_an_unknown_metric() -> None:
    assert metrics_in("rate(mlmon_rows_ingested_totl[5m])") - exported_metrics() == {
        "mlmon_rows_ingested_totl"
    }
