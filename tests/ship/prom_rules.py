"""Helpers shared by the rule, dashboard and live-Prometheus tests: the Prometheus rules extracted from the
PrometheusRule manifest, and the metric names the service exports (read from a live registry)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry

import system_tools
from mlmon.service.metrics import build_metrics

ROOT = Path(__file__).resolve().parents[2]
RULE_MANIFEST = ROOT / "k8s" / "base" / "prometheusrule.yaml"
DASHBOARD = ROOT / "k8s" / "base" / "dashboards" / "mlmon-drift.json"
_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "gauge": ("",),
    "summary": ("_count", "_sum", ""),
}
_METRIC = re.compile(r"\bmlmon_[a-z0-9_]+\b")


def rule_groups() -> dict[str, Any]:
    """The manifest's ``spec`` as a Prometheus rule file (``groups:``)."""
    spec: dict[str, Any] = yaml.safe_load(RULE_MANIFEST.read_text())["spec"]
    return {"groups": spec["groups"]}


def exported_metrics() -> set[str]:
    """Every series name the service's metrics produce (counters with ``_total``, histograms with
    ``_bucket``/``_count``/``_sum``), from a registry built by the service's own code."""
    registry = CollectorRegistry()
    build_metrics(registry)
    return {m.name + suffix for m in registry.collect() for suffix in _SUFFIXES[m.type]}


def metrics_in(expr: str) -> set[str]:
    """The ``mlmon_*`` metric names a PromQL expression reads."""
    return set(_METRIC.findall(expr))


def promtool() -> str:
    """Path of promtool (Debian's prometheus package); skips the test when missing (fails under CI)."""
    return system_tools.require("promtool")
