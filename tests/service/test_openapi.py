"""The OpenAPI document at /schema describes the request and response bodies (the ingest batch in
msgpack and JSON, the baseline upload, the drift report and history), and schemathesis, driven by it
against a real service process, gets no 5xx for any generated request (bounded: 30 examples per
operation and phase, about 10 s)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from service_helpers import start_service

import mlmon

pytestmark = pytest.mark.e2e

# Path parameters pinned to a model version that exists, so generated bodies reach the decoder and the
# counting instead of stopping at 404; the names themselves are fuzzed in tests/reliability (S2).
_CONFIG = """
[parameters]
"path.model" = "churn"
"path.version" = "v1"
"""


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, baseline: mlmon.Baseline) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("openapi")
    proc, url = start_service(f"sqlite:///{tmp / 'svc.db'}", tmp / "server.log")
    try:
        put = httpx.put(f"{url}/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes())
        assert put.status_code == 200, put.text
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_schema_documents_request_and_response_bodies(service: str) -> None:
    spec = httpx.get(f"{service}/schema/openapi.json").json()
    schemas, paths = spec["components"]["schemas"], spec["paths"]
    ingest = paths["/v1/models/{model}/ingest"]["post"]["requestBody"]
    assert ingest["required"] and set(ingest["content"]) == {"application/json", "application/msgpack"}
    batch = schemas["IngestBatch"]
    assert batch["required"] == ["columns"] and batch["additionalProperties"] is False
    assert {"batch_id", "producer_id", "sequence"} <= set(batch["properties"])
    column_kinds = batch["properties"]["columns"]["additionalProperties"]["anyOf"]
    assert {"$ref": "#/components/schemas/RawNumbers"} in column_kinds
    assert {"$ref": "#/components/schemas/CodedColumn"} in column_kinds
    assert schemas["RawNumbers"]["properties"]["dtype"]["enum"] == ["<f4", "<f8", "<i4", "<i8"]
    upload = paths["/v1/models/{model}/versions/{version}/baseline"]["put"]["requestBody"]
    assert upload["content"]["application/octet-stream"]["schema"]["format"] == "binary"
    drift = paths["/v1/models/{model}/drift"]["get"]["responses"]["200"]["content"]["application/json"]
    assert drift["schema"] == {"$ref": "#/components/schemas/DriftReport"}
    assert {"features", "current_rows"} <= set(schemas["DriftReport"]["properties"])
    history = paths["/v1/models/{model}/drift/history"]["get"]["responses"]["200"]["content"]
    assert history["application/json"]["schema"]["items"] == {
        "$ref": "#/components/schemas/StoredDriftResult"
    }
    # Every reference resolves.
    text = httpx.get(f"{service}/schema/openapi.json").text
    for name in {part.split('"')[0] for part in text.split("#/components/schemas/")[1:]}:
        assert name in schemas, name


@pytest.mark.slow  # make test-slow: 11 s of fuzzing; R10 (tests/reliability) fuzzes the same API too
def test_schemathesis_finds_no_server_error(service: str, tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(_CONFIG)
    cmd = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
        f"{service}/schema/openapi.json", "--checks", "not_a_server_error", "--max-examples", "30",
        "--seed", "1", "--workers", "1", "--request-timeout", "10",
    ]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    selected = re.search(r"(\d+) selected / (\d+) total", run.stdout)
    assert selected is not None and selected[1] == selected[2] and int(selected[1]) >= 12, run.stdout[-2000:]
    assert " passed" in run.stdout and "failed" not in run.stdout.split("SUMMARY")[-1]
