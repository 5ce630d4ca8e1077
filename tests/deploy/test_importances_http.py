"""Feature importances from the model (attribute, coefficients, permutation) and the retrying HTTP client
against a real flaky server on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from mlmon.demo.processes import free_port
from mlmon.deploy import InfrastructureError
from mlmon.deploy.config import DataConfig, HttpConfig, ModelConfig
from mlmon.deploy.example import ExampleFiles
from mlmon.deploy.http import RetryingClient
from mlmon.deploy.importances import feature_importances
from mlmon.deploy.load import Dataset, load_artifact, load_dataset

DATA = DataConfig(training="", validation="", target="malignant")


def _loaded(files: ExampleFiles) -> tuple[object, Dataset]:
    artifact = load_artifact(ModelConfig(name="bc", artifact=str(files.artifact)), None)
    return artifact.model, load_dataset(files.validation, DATA, artifact.model)


@pytest.mark.parametrize(("kind", "source"), [("forest", "feature_importances_"), ("logistic", "coef_")])
def test_importances_from_the_model(trained: dict[str, ExampleFiles], kind: str, source: str) -> None:
    model, data = _loaded(trained[kind])
    weights, got = feature_importances(model, data)
    assert got == source
    assert list(weights) == data.columns
    assert sum(weights.values()) == pytest.approx(1.0, abs=1e-4)
    assert all(w >= 0 for w in weights.values())
    if kind == "forest":
        raw = model.feature_importances_  # type: ignore[attr-defined]
        assert max(weights, key=weights.__getitem__) == data.columns[int(np.argmax(raw))]


def test_permutation_importance_when_the_model_has_none(trained: dict[str, ExampleFiles]) -> None:
    _, data = _loaded(trained["forest"])
    knn = KNeighborsClassifier().fit(data.features, data.target)
    weights, source = feature_importances(knn, data)
    assert source == "permutation"
    assert sum(weights.values()) == pytest.approx(1.0, abs=1e-4)
    assert max(weights.values()) > 1 / len(weights)  # some features matter more than others


def test_a_model_that_uses_nothing_gets_uniform_weights(trained: dict[str, ExampleFiles]) -> None:
    model, data = _loaded(trained["dummy"])
    weights, source = feature_importances(model, data)
    assert source == "permutation"
    assert list(weights.values()) == pytest.approx([0.1] * 10)


class _Flaky(BaseHTTPRequestHandler):
    failures = 0
    calls = 0

    def do_GET(self) -> None:
        type(self).calls += 1
        status = 503 if type(self).calls <= type(self).failures else 200
        self.send_response(status)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def flaky() -> Iterator[tuple[str, type[_Flaky]]]:
    handler = type("Handler", (_Flaky,), {"failures": 0, "calls": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()
    thread.join()


def test_retries_transient_errors_then_succeeds(flaky: tuple[str, type[_Flaky]]) -> None:
    url, handler = flaky
    handler.failures = 2
    with RetryingClient(HttpConfig(retries=3, backoff_seconds=0.01)) as http:
        assert http.request("GET", url, what="probe").status_code == 200
    assert handler.calls == 3


def test_gives_up_after_the_last_retry(flaky: tuple[str, type[_Flaky]]) -> None:
    url, handler = flaky
    handler.failures = 10
    with RetryingClient(HttpConfig(retries=2, backoff_seconds=0.01)) as http:
        with pytest.raises(InfrastructureError, match=r"probe failed after 3 attempts .*HTTP 503"):
            http.request("GET", url, what="probe")
        assert handler.calls == 3
        # 503 is an answer where it means "nothing loaded yet": returned at once, not retried
        assert http.request("GET", url, what="probe", retry_unavailable=False).status_code == 503
        assert handler.calls == 4


def test_connection_refused_is_infrastructure() -> None:
    config = HttpConfig(retries=1, backoff_seconds=0.01, timeout_seconds=2)
    refused = pytest.raises(InfrastructureError, match=r"2 attempts.*Connect")
    with RetryingClient(config) as http, refused as info:
        http.request("GET", f"http://127.0.0.1:{free_port()}/", what="probe")
    assert info.value.exit_code == 3
