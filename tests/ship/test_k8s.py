"""The Kubernetes manifests: both overlays render (tests/ship/kustomize_render.py, cross-checked against
``kubectl kustomize`` where installed), pass ``kubernetes-validate --strict`` for the supported Kubernetes
versions, the Prometheus Operator resources match their CRD schemas, and the pieces agree with each other
and with the service (settings names, port, probes, drain timing, selectors)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from kustomize_render import build, strategic_merge
from prom_rules import exported_metrics

from mlmon.service import server
from mlmon.service.settings import Settings
from shared_helpers import assert_yamllint_clean

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
OVERLAYS = ["staging", "production"]
# The Kubernetes minor versions the manifests support (every API used is GA in all of them).
K8S_VERSIONS = ["1.30.0", "1.31.0", "1.32.0", "1.33.0", "1.34.0"]
CRD_SCHEMAS = {"PrometheusRule": "prometheusrule-v1.json", "ServiceMonitor": "servicemonitor-v1.json"}
SCHEMAS = K8S / "schemas"
# The project's shared copies sit beside the checkout here (not on GitHub's runners).
SHARED_SCHEMAS = ROOT.parent / "shared" / "schemas"

Doc = dict[str, Any]


def render(overlay: str) -> list[Doc]:
    """The overlay's documents."""
    return build(K8S / "overlays" / overlay)


def one(docs: list[Doc], kind: str) -> Doc:
    """The single document of ``kind``."""
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"{len(found)} {kind} documents"
    return found[0]


def _pod(docs: list[Doc]) -> dict[str, Any]:
    spec: dict[str, Any] = one(docs, "Deployment")["spec"]["template"]["spec"]
    return spec


def _container(docs: list[Doc]) -> dict[str, Any]:
    containers = _pod(docs)["containers"]
    assert len(containers) == 1
    c: dict[str, Any] = containers[0]
    return c


def _settings_data(docs: list[Doc]) -> dict[str, str]:
    cm = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "mlmon-settings")
    data: dict[str, str] = cm["data"]
    return data


def _canonical(value: Any) -> Any:
    # kustomize and this renderer may order merged list items differently; compare as multisets.
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((_canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    return value


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_renderer_matches_kubectl_kustomize(overlay: str) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed: the Python renderer alone is used")
    done = subprocess.run(
        [kubectl, "kustomize", str(K8S / "overlays" / overlay)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    theirs = [d for d in yaml.safe_load_all(done.stdout) if d]
    key = lambda d: (d["kind"], d["metadata"]["name"])  # noqa: E731
    assert sorted(map(key, render(overlay))) == sorted(map(key, theirs))
    mine = {key(d): d for d in render(overlay)}
    for doc in theirs:
        assert _canonical(mine[key(doc)]) == _canonical(doc), key(doc)


def kubernetes_validate_strict(
    docs: list[Doc], version: str, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """``kubernetes-validate --strict`` (the CLI beside this Python) on the documents as one YAML stream."""
    path = tmp_path / f"rendered-{version}.yaml"
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    cli = Path(sys.executable).parent / "kubernetes-validate"
    return subprocess.run(
        [str(cli), "--strict", "-k", version, str(path)], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_builtin_kinds_validate_strict(overlay: str, version: str, tmp_path: Path) -> None:
    builtin = [d for d in render(overlay) if "monitoring.coreos.com" not in d["apiVersion"]]
    assert {d["kind"] for d in builtin} >= {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "ConfigMap",
        "NetworkPolicy",
    }
    done = kubernetes_validate_strict(builtin, version, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    passed = re.findall(r"passed for resource (\S+)", done.stdout + done.stderr)
    assert len(passed) == len(builtin), done.stdout + done.stderr


def test_strict_validation_rejects_a_typo(tmp_path: Path) -> None:
    docs = render("production")
    one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    done = kubernetes_validate_strict(docs, K8S_VERSIONS[-1], tmp_path)
    assert done.returncode != 0 and "readinesProbe" in done.stdout + done.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("kind", sorted(CRD_SCHEMAS))
def test_prometheus_operator_resources_match_crd_schema(overlay: str, kind: str, tmp_path: Path) -> None:
    schema = SCHEMAS / CRD_SCHEMAS[kind]
    path = tmp_path / f"{kind}.json"
    path.write_text(json.dumps(one(render(overlay), kind)))
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--schemafile", str(schema), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("name", sorted(CRD_SCHEMAS.values()))
def test_vendored_schemas_match_the_shared_ones(name: str) -> None:
    shared = SHARED_SCHEMAS / name
    if not shared.exists():
        pytest.skip(f"no shared schemas beside the checkout ({SHARED_SCHEMAS})")
    assert json.loads((SCHEMAS / name).read_text()) == json.loads(shared.read_text())


def test_crd_schema_rejects_a_bad_rule(tmp_path: Path) -> None:
    rule = one(render("staging"), "PrometheusRule")
    rule["spec"]["groups"][0]["rules"][0]["for"] = "ten minutes"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(rule))
    schema = SCHEMAS / CRD_SCHEMAS["PrometheusRule"]
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--schemafile", str(schema), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_secret_values_only_references(overlay: str) -> None:
    docs = render(overlay)
    assert not [d for d in docs if d["kind"] == "Secret"]
    env = _container(docs)["env"]
    assert all("value" not in e for e in env), "environment values come from ConfigMap or Secret refs"
    refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in env}
    assert refs == {"mlmon-secrets"}
    settings = _settings_data(docs)
    assert not {"MLMON_DATABASE_URL", "MLMON_ADMIN_TOKEN", "MLMON_INGEST_TOKENS"} & set(settings)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_settings_are_the_service_settings(overlay: str) -> None:
    docs = render(overlay)
    data = _settings_data(docs)
    fields = {f"MLMON_{f.upper()}" for f in Settings.__struct_fields__}
    secret_env = {e["name"] for e in _container(docs)["env"]}
    assert set(data) - fields == {"PROMETHEUS_MULTIPROC_DIR"}
    assert secret_env <= fields
    # The values parse as the service parses them (placeholders for what the Secret provides).
    env = {
        **data,
        "MLMON_DATABASE_URL": "postgresql://u:p@db/mlmon",
        "MLMON_ADMIN_TOKEN": "x",
        "MLMON_INGEST_TOKENS": "churn=y",
    }
    settings = Settings.from_env(env)
    settings.check_startup()
    assert settings.host == "0.0.0.0"
    ports = {p["name"]: p["containerPort"] for p in _container(docs)["ports"]}
    assert ports["http"] == settings.port
    mounts = {m["mountPath"]: m["name"] for m in _container(docs)["volumeMounts"]}
    volumes = {v["name"]: v for v in _pod(docs)["volumes"]}
    for path in ("/tmp", data["PROMETHEUS_MULTIPROC_DIR"]):
        assert "emptyDir" in volumes[mounts[path]], f"{path} must be a writable emptyDir"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pod_hardening_probes_and_resources(overlay: str) -> None:
    docs = render(overlay)
    pod, c = _pod(docs), _container(docs)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["automountServiceAccountToken"] is False
    sc = c["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"]["drop"] == ["ALL"] and sc["seccompProfile"]["type"] == "RuntimeDefault"
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    for kind in ("requests", "limits"):
        assert set(c["resources"][kind]) == {"cpu", "memory"}
    assert c["image"].startswith("ghcr.io/mlmon/mlmon-service:")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_termination_grace_covers_prestop_and_the_servers_drain(overlay: str) -> None:
    docs = render(overlay)
    pre_stop = _container(docs)["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    drain = Settings.from_env(_settings_data(docs)).drain_seconds
    # The server's own bound from SIGTERM to exit (drain window included).
    budget = server._EXIT_BUDGET_SECONDS
    assert drain < budget
    grace = _pod(docs)["terminationGracePeriodSeconds"]
    assert float(pre_stop[1]) + budget < grace <= float(pre_stop[1]) + budget + 15


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_selectors_and_ports_line_up(overlay: str) -> None:
    docs = render(overlay)
    deployment = one(docs, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    service = one(docs, "Service")
    assert service["spec"]["selector"].items() <= pod_labels.items()
    for kind in ("PodDisruptionBudget",):
        assert one(docs, kind)["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert one(docs, "NetworkPolicy")["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    target = one(docs, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    monitor = one(docs, "ServiceMonitor")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    service_ports = {p["name"] for p in service["spec"]["ports"]}
    assert {e["port"] for e in monitor["spec"]["endpoints"]} <= service_ports
    container_ports = {p["name"] for p in _container(docs)["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= container_ports
    assert {e["path"] for e in monitor["spec"]["endpoints"]} == {"/metrics"}
    assert _pod(docs)["serviceAccountName"] == one(docs, "ServiceAccount")["metadata"]["name"]
    namespaces = {d["metadata"].get("namespace") for d in docs}
    assert namespaces == {f"mlmon-{overlay}"}


def test_hpa_scales_on_cpu_and_requests_per_second() -> None:
    metrics = one(render("production"), "HorizontalPodAutoscaler")["spec"]["metrics"]
    assert {m["type"] for m in metrics} == {"Resource", "Pods"}
    (pods,) = [m["pods"]["metric"]["name"] for m in metrics if m["type"] == "Pods"]
    # The metric is what hpa.yaml's documented prometheus-adapter rule derives from the service's series.
    rule = (K8S / "base" / "hpa.yaml").read_text()
    matches, as_ = re.search(r'name: \{matches: "(.+?)", as: "(.+?)"\}', rule).groups()
    derived = {
        re.sub(matches, as_.replace("${1}", r"\1"), m) for m in exported_metrics() if re.match(matches, m)
    }
    assert pods in derived, derived


def test_overlays_size_the_service() -> None:
    staging, production = render("staging"), render("production")
    assert one(staging, "Deployment")["spec"]["replicas"] < one(production, "Deployment")["spec"]["replicas"]
    assert one(production, "HorizontalPodAutoscaler")["spec"]["minReplicas"] == 3
    assert one(production, "PodDisruptionBudget")["spec"]["minAvailable"] == 2
    assert _settings_data(staging)["MLMON_LOG_LEVEL"] == "DEBUG"
    assert _container(staging)["image"].endswith(":staging")


def test_strategic_merge_by_key() -> None:
    base = {"containers": [{"name": "a", "image": "x", "env": [{"name": "A", "value": "1"}]}], "n": 1}
    patch = {"containers": [{"name": "a", "env": [{"name": "B", "value": "2"}]}], "n": 2}
    merged = strategic_merge(base, patch)
    assert merged == {
        "containers": [
            {"name": "a", "image": "x", "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]}
        ],
        "n": 2,
    }
    assert strategic_merge({"args": ["a", "b"]}, {"args": ["c"]}) == {"args": ["c"]}


def test_renderer_refuses_unknown_features(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\nreplicas: [{name: x, count: 2}]\n")
    with pytest.raises(ValueError, match="unsupported"):
        build(tmp_path)


def test_yamllint_clean() -> None:
    assert_yamllint_clean(K8S)
