"""The alert rules: ``promtool check rules`` on the rules extracted from the PrometheusRule, and
``promtool test rules`` unit tests showing the drift alerts fire at 0.2 (after 10m) and 0.5 (after 5m),
stay quiet below, and that ingestion-stopped and error-rate alerts fire. A deliberately wrong expectation
must make promtool fail, so the harness itself is tested."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prom_rules import exported_metrics, metrics_in, promtool, rule_groups

_LABELS = 'namespace="ml", model="churn", version="3"'


def _write_rules(tmp_path: Path, annotations: bool = True) -> Path:
    groups = rule_groups()
    if not annotations:
        # promtool compares annotations too; the timing tests leave them out, one test renders them.
        for group in groups["groups"]:
            for rule in group["rules"]:
                rule.pop("annotations", None)
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(groups, sort_keys=False))
    return path


def _alert(name: str, severity: str, at: str, **labels: str) -> dict[str, Any]:
    return {
        "eval_time": at,
        "alertname": name,
        "exp_alerts": [{"exp_labels": {"severity": severity, **labels}}],
    }


def _no_alert(name: str, at: str) -> dict[str, Any]:
    return {"eval_time": at, "alertname": name, "exp_alerts": []}


def _drift_case() -> dict[str, Any]:
    feat = {"namespace": "ml", "model": "churn", "version": "3"}
    return {
        "interval": "1m",
        "input_series": [
            # Just below, exactly at, and well above the thresholds, for 30 minutes.
            {
                "series": f'mlmon_feature_drift_score{{{_LABELS}, feature="age", pod="a"}}',
                "values": "0.19x30",
            },
            {
                "series": f'mlmon_feature_drift_score{{{_LABELS}, feature="plan", pod="a"}}',
                "values": "0.2x30",
            },
            {
                "series": f'mlmon_feature_drift_score{{{_LABELS}, feature="tenure", pod="a"}}',
                "values": "0.5x30",
            },
        ],
        "alert_rule_test": [
            # `for: 10m`: pending at 9m, firing from 10m, for plan (0.2) and tenure (0.5); never for age.
            _no_alert("MlmonDriftWarning", "9m"),
            {
                "eval_time": "11m",
                "alertname": "MlmonDriftWarning",
                "exp_alerts": [
                    {"exp_labels": {"severity": "warning", "feature": "plan", **feat}},
                    {"exp_labels": {"severity": "warning", "feature": "tenure", **feat}},
                ],
            },
            # `for: 5m`: only tenure, firing from 5m.
            _no_alert("MlmonDriftCritical", "4m"),
            _alert("MlmonDriftCritical", "critical", "6m", feature="tenure", **feat),
            _alert("MlmonDriftCritical", "critical", "29m", feature="tenure", **feat),
        ],
    }


def _service_case() -> dict[str, Any]:
    ns = {"namespace": "ml"}
    return {
        "interval": "1m",
        "input_series": [
            # Batches arrive for 20 minutes, then stop.
            {"series": f'mlmon_batches_ingested_total{{{_LABELS}, pod="a"}}', "values": "0+10x20 200x40"},
            # 10% of requests are 5xx from minute 10 on.
            {
                "series": 'mlmon_http_request_duration_seconds_count{namespace="ml", status="200"}',
                "values": "0+90x60",
            },
            {
                "series": 'mlmon_http_request_duration_seconds_count{namespace="ml", status="503"}',
                "values": "0x10 0+10x50",
            },
            {"series": 'up{job="mlmon", instance="10.0.0.1:8000"}', "values": "1x10 0x20"},
        ],
        "alert_rule_test": [
            _no_alert("MlmonIngestionStopped", "20m"),
            # rate over 10m reaches 0 at 30m, then `for: 15m`.
            _no_alert("MlmonIngestionStopped", "40m"),
            _alert("MlmonIngestionStopped", "warning", "50m", model="churn", **ns),
            _no_alert("MlmonHighErrorRate", "12m"),
            _alert("MlmonHighErrorRate", "critical", "30m", **ns),
            _no_alert("MlmonTargetDown", "12m"),
            {
                "eval_time": "20m",
                "alertname": "MlmonTargetDown",
                "exp_alerts": [
                    {"exp_labels": {"severity": "critical", "job": "mlmon", "instance": "10.0.0.1:8000"}}
                ],
            },
        ],
    }


def _run_unit_tests(
    tmp_path: Path, cases: list[dict[str, Any]], annotations: bool = False
) -> subprocess.CompletedProcess[str]:
    rules = _write_rules(tmp_path, annotations)
    test = tmp_path / "test.yaml"
    test.write_text(yaml.safe_dump({"rule_files": [rules.name], "evaluation_interval": "1m", "tests": cases}))
    return subprocess.run(
        [promtool(), "test", "rules", test.name], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )


def test_promtool_check_rules(tmp_path: Path) -> None:
    done = subprocess.run(
        [promtool(), "check", "rules", str(_write_rules(tmp_path))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr


def test_drift_alerts_fire_at_the_thresholds(tmp_path: Path) -> None:
    done = _run_unit_tests(tmp_path, [_drift_case()])
    assert done.returncode == 0, done.stdout + done.stderr


def test_service_alerts_fire(tmp_path: Path) -> None:
    done = _run_unit_tests(tmp_path, [_service_case()])
    assert done.returncode == 0, done.stdout + done.stderr


def test_critical_drift_annotations_render(tmp_path: Path) -> None:
    case = _drift_case()
    labels = {
        "severity": "critical",
        "namespace": "ml",
        "model": "churn",
        "version": "3",
        "feature": "tenure",
    }
    annotations = {
        "summary": "Critical drift on churn/3 feature tenure",
        "description": "PSI 0.500 >= 0.5 for 5 minutes: retrain or roll back.",
    }
    case["alert_rule_test"] = [
        {
            "eval_time": "6m",
            "alertname": "MlmonDriftCritical",
            "exp_alerts": [{"exp_labels": labels, "exp_annotations": annotations}],
        }
    ]
    done = _run_unit_tests(tmp_path, [case], annotations=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("name", "severity", "at", "fires"),
    [
        ("MlmonDriftWarning", "warning", "9m", False),
        ("MlmonDriftWarning", "warning", "10m", True),
        ("MlmonDriftCritical", "critical", "4m", False),
        ("MlmonDriftCritical", "critical", "5m", True),
    ],
)
def test_for_durations_are_exact(tmp_path: Path, name: str, severity: str, at: str, fires: bool) -> None:
    # The same expectation passes from the `for:` duration on and fails one minute before: promtool
    # really checks the timing, so the tests above cannot pass vacuously.
    labels = {"namespace": "ml", "model": "churn", "version": "3", "feature": "tenure"}
    case = {
        "interval": "1m",
        "input_series": [
            {"series": f'mlmon_feature_drift_score{{{_LABELS}, feature="tenure"}}', "values": "0.5x20"}
        ],
        "alert_rule_test": [_alert(name, severity, at, **labels)],
    }
    done = _run_unit_tests(tmp_path, [case])
    assert (done.returncode == 0) is fires, done.stdout + done.stderr


def test_rules_read_only_exported_metrics() -> None:
    exported = exported_metrics()
    for group in rule_groups()["groups"]:
        for rule in group["rules"]:
            names = metrics_in(rule["expr"])
            assert names <= exported, f"{rule['alert']}: {names - exported} not exported by the service"
            assert names or "up{" in rule["expr"], rule["alert"]
