"""The alert rules: ``promtool check rules`` on the rules extracted from the PrometheusRule, and
``promtool test rules`` unit tests showing the drift alerts fire at 0.2 (after 10m) and 0.5 (after 5m),
stay quiet below, and that ingestion-stopped and error-rate alerts fire; the performance alerts fire on a
realized or estimated accuracy 0.05 / 0.10 points under the reference and an RMSE 20 % / 50 % over it
(the best pod's figure), and on labels piling up without predictions or contradicting earlier ones. A
deliberately wrong expectation must make promtool fail, so the harness itself is tested."""

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


def _perf(model: str, source: str, metric: str, values: str, pod: str = "a") -> dict[str, str]:
    labels = (
        f'namespace="ml", model="{model}", version="1", metric="{metric}", source="{source}", pod="{pod}"'
    )
    return {"series": f"mlmon_model_performance{{{labels}}}", "values": values}


def _perf_alert(name: str, at: str, *fired: tuple[str, str]) -> dict[str, Any]:
    """``name`` at ``at`` fires for exactly the ``(model, metric)`` pairs in ``fired``."""
    severity = "critical" if name.endswith("Critical") else "warning"
    alerts = [
        {
            "exp_labels": {
                "severity": severity,
                "namespace": "ml",
                "model": m,
                "version": "1",
                "metric": metric,
            }
        }
        for m, metric in fired
    ]
    return {"eval_time": at, "alertname": name, "exp_alerts": alerts}


def _performance_case() -> dict[str, Any]:
    # Values exact in binary, so `>=` at the thresholds is not a rounding question: reference accuracy
    # 0.875; 0.8125 is 0.0625 under it (warning), 0.75 is 0.125 (critical), 0.84375 is 0.03125 (quiet).
    series = []
    for model in ("churn", "fraud", "fine"):
        series += [_perf(model, "reference", "accuracy", "0.875x30", pod) for pod in ("a", "b")]
    series += [
        # churn: pod a sees 0.8125, pod b a worse (stale) 0.75: the best pod's figure rules, a warning only.
        _perf("churn", "realized", "accuracy", "0.8125x30"),
        _perf("churn", "realized", "accuracy", "0.75x30", pod="b"),
        _perf("churn", "estimated", "accuracy", "0.84375x30"),
        _perf("fraud", "realized", "accuracy", "0.84375x30"),
        _perf("fraud", "estimated", "accuracy", "0.75x30"),
        _perf("fine", "realized", "accuracy", "0.9x30"),  # better than the reference: never an alert
        _perf("fine", "estimated", "accuracy", "0.84375x30"),
    ]
    # RMSE against a reference of 2: 2.5 is 25 % over (warning), 3 is 50 % (critical), 2.25 is 12.5 %.
    for model, rmse in (("price", "2.5x30"), ("demand", "3x30"), ("stock", "2.25x30")):
        series += [_perf(model, "reference", "rmse", "2x30"), _perf(model, "realized", "rmse", rmse)]
    return {
        "interval": "1m",
        "input_series": series,
        "alert_rule_test": [
            _perf_alert("MlmonAccuracyDropWarning", "9m"),
            _perf_alert("MlmonAccuracyDropWarning", "10m", ("churn", "accuracy")),
            _perf_alert("MlmonAccuracyDropCritical", "20m"),
            _perf_alert("MlmonEstimatedAccuracyDropWarning", "10m", ("fraud", "accuracy")),
            _perf_alert("MlmonEstimatedAccuracyDropCritical", "4m"),
            _perf_alert("MlmonEstimatedAccuracyDropCritical", "5m", ("fraud", "accuracy")),
            _perf_alert("MlmonRmseRiseWarning", "10m", ("demand", "rmse"), ("price", "rmse")),
            _perf_alert("MlmonRmseRiseCritical", "5m", ("demand", "rmse")),
        ],
    }


def _labels_case() -> dict[str, Any]:
    def counter(model: str, outcome: str, values: str) -> dict[str, str]:
        labels = f'namespace="ml", model="{model}", outcome="{outcome}", pod="a"'
        return {"series": f"mlmon_labels_total{{{labels}}}", "values": values}

    ml = {"namespace": "ml"}
    return {
        "interval": "1m",
        "input_series": [
            # churn: 5 labels a minute find no prediction, 1 does. fraud: 10 match, 1 waits (normal).
            counter("churn", "pending", "0+5x120"),
            counter("churn", "matched", "0+1x120"),
            counter("fraud", "pending", "0+1x120"),
            counter("fraud", "matched", "0+10x120"),
            # churn: 2 conflicting labels a minute from minute 10; fraud: none.
            counter("churn", "conflicts", "0x10 0+2x110"),
            counter("fraud", "conflicts", "0x120"),
        ],
        "alert_rule_test": [
            # Over 100 pending in the hour from about minute 20, then `for: 30m`.
            _no_alert("MlmonLabelsPending", "45m"),
            _alert("MlmonLabelsPending", "warning", "55m", model="churn", **ml),
            _alert("MlmonLabelsPending", "warning", "110m", model="churn", **ml),
            _no_alert("MlmonLabelConflicts", "10m"),
            _alert("MlmonLabelConflicts", "warning", "20m", model="churn", **ml),
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


def test_performance_alerts_fire_at_the_service_thresholds(tmp_path: Path) -> None:
    done = _run_unit_tests(tmp_path, [_performance_case()])
    assert done.returncode == 0, done.stdout + done.stderr


def test_label_alerts_fire(tmp_path: Path) -> None:
    done = _run_unit_tests(tmp_path, [_labels_case()])
    assert done.returncode == 0, done.stdout + done.stderr


def test_performance_annotations_render(tmp_path: Path) -> None:
    case = _performance_case()
    labels = {"namespace": "ml", "version": "1"}
    case["alert_rule_test"] = [
        {
            "eval_time": "10m",
            "alertname": "MlmonRmseRiseWarning",
            "exp_alerts": [
                {
                    "exp_labels": {"severity": "warning", "model": model, "metric": "rmse", **labels},
                    "exp_annotations": {
                        "summary": f"RMSE of {model}/1 rose above its reference",
                        "description": f"Realized RMSE (from labels) is {share} above the reference.",
                    },
                }
                for model, share in (("demand", "50%"), ("price", "25%"))
            ],
        },
        {
            "eval_time": "10m",
            "alertname": "MlmonAccuracyDropCritical",
            "exp_alerts": [],
        },
    ]
    done = _run_unit_tests(tmp_path, [case], annotations=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_wrong_performance_expectation_fails(tmp_path: Path) -> None:
    # churn's best pod is only a warning: expecting a critical alert for it must fail.
    case = _performance_case()
    case["alert_rule_test"] = [_perf_alert("MlmonAccuracyDropCritical", "20m", ("churn", "accuracy"))]
    done = _run_unit_tests(tmp_path, [case])
    assert done.returncode != 0, done.stdout + done.stderr


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
