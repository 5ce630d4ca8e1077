"""The ingest route's raw ASGI endpoint answers as Litestar's route does, refusals included.

The canonical path (``/v1/models/{model}/ingest``) is served by
:class:`mlmon.service.routes.ingest_asgi.IngestEndpoint`; the same path with a trailing slash still goes
through Litestar's router to the route handler. Each request below is sent both ways and must get the
same status, headers (but the request id) and body, and count the same refusal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.config.cors import CORSConfig
from litestar.testing import TestClient
from prometheus_client import CollectorRegistry, generate_latest
from service_helpers import ADMIN, MSGPACK, TOKEN_A, TOKEN_B, body, make_settings, mp

import mlmon
from mlmon.service import create_app
from mlmon.service.app import DriftService
from mlmon.service.deps import dependencies
from mlmon.service.routes import CONTROLLERS
from mlmon.service.routes.ingest_asgi import ingest_model

LIMIT = 8192


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


Served = tuple[TestClient[Any], CollectorRegistry]


@contextmanager
def _serve(directory: Path, baseline: mlmon.Baseline) -> Iterator[Served]:
    directory.mkdir()
    registry = CollectorRegistry()
    settings = make_settings(
        directory, admin_token=ADMIN, ingest_tokens={"churn": TOKEN_A, "fraud": TOKEN_B}, max_body_bytes=LIMIT
    )
    with TestClient(create_app(settings, registry)) as c:
        url = "/v1/models/churn/versions/v1/baseline"
        assert c.put(url, content=baseline.to_bytes(), headers=_bearer(ADMIN)).status_code == 200
        yield c, registry


@pytest.fixture
def served(tmp_path: Path, baseline: mlmon.Baseline) -> Iterator[Served]:
    with _serve(tmp_path / "one", baseline) as one:
        yield one


@pytest.fixture
def twins(tmp_path: Path, baseline: mlmon.Baseline) -> Iterator[tuple[Served, Served]]:
    """Two services in the same state: one asked on the raw path, the other through Litestar."""
    with _serve(tmp_path / "raw", baseline) as raw, _serve(tmp_path / "routed", baseline) as routed:
        yield raw, routed


def _ok(batch_id: str) -> dict[str, Any]:
    return {"content": mp(body(batch_id, 20)), "headers": {**MSGPACK, **_bearer(TOKEN_A)}}


_WRITER = _ok("")["headers"]
_JSON_BODY = httpx.Request("POST", "/", json=body("j", 5, raw=False)).content

# (name, model in the path, request)
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("accepted", "churn", _ok("ok")),
    ("duplicate", "churn", _ok("first")),
    ("conflict", "churn", {**_ok(""), "content": mp(body("first", 7))}),
    ("no token", "churn", {"content": mp(body("a", 5)), "headers": MSGPACK}),
    ("wrong token", "churn", {"content": b"", "headers": {**MSGPACK, **_bearer("nope")}}),
    ("other model's token", "churn", {"content": b"", "headers": {**MSGPACK, **_bearer(TOKEN_B)}}),
    ("unknown model", "fraud", {**_ok("f"), "headers": {**MSGPACK, **_bearer(TOKEN_B)}}),
    ("too large", "churn", {"content": b"\x00" * (LIMIT + 1), "headers": _WRITER}),
    ("media type", "churn", {**_ok("m"), "headers": {"content-type": "text/csv", **_bearer(ADMIN)}}),
    ("compressed", "churn", {**_ok("g"), "headers": {**_WRITER, "content-encoding": "gzip"}}),
    ("malformed", "churn", {**_ok(""), "content": b"\xc1\xc1"}),
    ("no batch id", "churn", {**_ok(""), "content": mp({"columns": {"age": [1.0]}})}),
    ("unknown column", "churn", {**_ok(""), "content": mp({"batch_id": "u", "columns": {"x": [1.0]}})}),
    ("unknown version", "churn", {**_ok(""), "content": mp({**body("v", 5), "version": "v9"})}),
    ("json", "churn", {"content": _JSON_BODY, "headers": {"content-type": "application/json", **_WRITER}}),
]  # fmt: skip


def _rejected(registry: CollectorRegistry) -> dict[str, float]:
    return {
        s.labels["reason"]: s.value
        for m in registry.collect()
        if m.name == "mlmon_batches_rejected"
        for s in m.samples
        if s.name.endswith("_total")
    }


def _shape(r: httpx.Response) -> tuple[int, dict[str, str], bytes]:
    headers = {k: v for k, v in r.headers.items() if k != "x-request-id"}
    return r.status_code, headers, r.content


@pytest.mark.parametrize(("name", "model", "sent"), CASES, ids=[c[0] for c in CASES])
def test_raw_endpoint_answers_as_the_litestar_route(
    twins: tuple[Served, Served], name: str, model: str, sent: dict[str, Any]
) -> None:
    answers = []
    for (client, registry), path in zip(twins, ("ingest", "ingest/"), strict=True):
        # The same state both ways: "first" counted once (a retry is a duplicate, other content a 409).
        assert client.post("/v1/models/churn/ingest", **_ok("first")).status_code == 200
        before = _rejected(registry)
        answers.append(client.post(f"/v1/models/{model}/{path}", **sent))
        counted = {k: v - before.get(k, 0) for k, v in _rejected(registry).items() if v != before.get(k, 0)}
        assert (answers[-1].status_code >= 400) == (sum(counted.values()) == 1), (name, counted)
        answers.append(counted)
    raw, raw_counted, routed, routed_counted = answers
    assert _shape(raw) == _shape(routed), name
    assert raw_counted == routed_counted
    assert raw.headers["x-request-id"] != routed.headers["x-request-id"]


def test_request_log_labels_both_ways_alike(served: Served) -> None:
    client, registry = served
    for i, path in enumerate(("/v1/models/churn/ingest", "/v1/models/churn/ingest/")):
        assert client.post(path, **_ok(f"b{i}")).status_code == 200
    text = generate_latest(registry).decode()
    counts = [x for x in text.splitlines() if x.startswith("mlmon_http_request_duration_seconds_count{")]
    posts = [x for x in counts if 'method="POST"' in x]
    expected = 'mlmon_http_request_duration_seconds_count{method="POST",route="/ingest",status="200"} 2.0'
    assert posts == [expected], counts


@pytest.mark.parametrize("path", ["/v1/models/churn/ingest", "/v1/models/churn/ingest/"])
def test_a_sender_that_goes_away_gets_408_either_way(served: Served, path: str) -> None:
    """A body that stops (the connection closes, or misses the body deadline) is the client's doing:
    408 both ways, nothing counted."""
    client, _ = served
    app = client.app
    assert isinstance(app, DriftService)
    sent: list[dict[str, Any]] = []

    async def drive() -> None:
        first = {"type": "http.request", "body": b"\x82", "more_body": True}
        messages = iter([first, {"type": "http.disconnect"}])

        async def receive() -> Any:
            return next(messages)

        async def send(message: Any) -> None:
            sent.append(message)

        token = b"Bearer " + TOKEN_A.encode()
        headers = [(b"content-type", b"application/msgpack"), (b"authorization", token)]
        scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "root_path": "",
                 "query_string": b"", "headers": headers, "scheme": "http", "http_version": "1.1",
                 "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}  # fmt: skip
        await app(scope, receive, send)  # type: ignore[arg-type]

    asyncio.run(drive())
    assert sent[0]["status"] == 408, sent
    assert client.get("/v1/models/churn/drift", headers=_bearer(ADMIN)).json()["current_rows"] == 0


@pytest.mark.parametrize(
    ("path", "model"),
    [("/v1/models/churn/ingest", "churn"), ("/v1/models/a.b-c_1/ingest", "a.b-c_1"),
     ("/v1/models/churn/ingest/", None), ("/v1/models//ingest", None), ("/v1/models/a/b/ingest", None),
     ("/v1/models/churn/labels", None), ("/v1/models/ingest", None), ("/x/v1/models/churn/ingest", None)],
)  # fmt: skip
def test_only_the_canonical_path_is_served_raw(path: str, model: str | None) -> None:
    assert ingest_model(path) == model


@pytest.mark.parametrize(
    "config",
    [{"cors_config": CORSConfig()}, {"allowed_hosts": ["example.org"]}, {"after_request": lambda r: r}],
    ids=["cors", "allowed hosts", "after_request"],
)
def test_a_config_the_raw_endpoint_would_skip_is_refused(config: dict[str, Any]) -> None:
    """What Litestar applies around its routes would not apply to the raw endpoint: refused at once."""
    with pytest.raises(ValueError, match="outside Litestar's router"):
        DriftService(route_handlers=CONTROLLERS, dependencies=dependencies(), **config)
