"""S1 authentication and tenant isolation on a real 2-worker process: every route of the app times
{no token, malformed, wrong, model A's token, admin} gets the designed status; model A's token changes
no count of model B and lists no model but A; and no token ever appears in the logs, the metrics or
any response."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from harness import Cluster, reported_rows
from rel_results import record
from service_helpers import ADMIN, MSGPACK, TOKEN_A, TOKEN_B, body, mp

import mlmon
from mlmon.service import create_app
from mlmon.service.settings import Settings

pytestmark = pytest.mark.e2e

WRONG = "wrong-token-4b1d"
CALLERS = {
    "none": {},
    "malformed": {"authorization": "Token abc"},
    "empty-bearer": {"authorization": "Bearer"},
    "wrong": {"authorization": f"Bearer {WRONG}"},
    "model-A": {"authorization": f"Bearer {TOKEN_A}"},
    "admin": {"authorization": f"Bearer {ADMIN}"},
}
# Designed status per caller: B is "fraud" (model A is "churn").
DENY_B = {"none": 401, "malformed": 401, "empty-bearer": 401, "wrong": 401, "model-A": 403, "admin": 200}
ANY_TOKEN = {**DENY_B, "model-A": 200}
OPEN = dict.fromkeys(CALLERS, 200)
# The label routes past auth: the matrix's baseline has no reference performance (and its POST body is
# an ingest batch), so the admin gets the 422 that says so.
DENY_B_UNLABELLED = {**DENY_B, "admin": 422}
ROUTES: dict[tuple[str, str], tuple[str, dict[str, int]]] = {
    ("POST", "/v1/models/{model:str}/ingest"): ("/v1/models/fraud/ingest", DENY_B),
    ("POST", "/v1/models/{model:str}/labels"): ("/v1/models/fraud/labels", DENY_B_UNLABELLED),
    ("GET", "/v1/models/{model:str}/performance"): ("/v1/models/fraud/performance", DENY_B_UNLABELLED),
    ("GET", "/v1/models/{model:str}/drift"): ("/v1/models/fraud/drift", DENY_B),
    ("GET", "/v1/models/{model:str}/drift/history"): ("/v1/models/fraud/drift/history?feature=age", DENY_B),
    ("GET", "/v1/models/{model:str}/report.html"): ("/v1/models/fraud/report.html", DENY_B),
    ("GET", "/v1/models/{model:str}/versions/{version:str}/baseline"):
        ("/v1/models/fraud/versions/v1/baseline", DENY_B),
    ("PUT", "/v1/models/{model:str}/versions/{version:str}/baseline"):
        ("/v1/models/fraud/versions/v1/baseline", DENY_B),
    ("GET", "/v1/models/{model:str}/versions"): ("/v1/models/fraud/versions", DENY_B),
    ("GET", "/v1/alerts"): ("/v1/alerts?model=fraud", DENY_B),
    ("GET", "/v1/models"): ("/v1/models", ANY_TOKEN),
    ("GET", "/"): ("/", ANY_TOKEN),
    ("GET", "/healthz"): ("/healthz", OPEN),
    ("GET", "/readyz"): ("/readyz", OPEN),
    ("GET", "/metrics"): ("/metrics", OPEN),
}  # fmt: skip


def _app_routes() -> set[tuple[str, str]]:
    app = create_app(Settings(database_url="sqlite:///:memory:", admin_token=ADMIN))
    return {
        (m, r.path) for r in app.routes for m in getattr(r, "methods", ()) if m not in {"OPTIONS", "HEAD"}
    }


def test_every_route_is_classified() -> None:
    """A new route must be added to the matrix (routes under /admin need the admin token: checked below)."""
    routes = {r for r in _app_routes() if not r[1].startswith("/schema")}
    unclassified = {r for r in routes if r not in ROUTES and not r[1].startswith("/admin")}
    assert not unclassified, f"add these routes to the S1 matrix: {sorted(unclassified)}"


def test_auth_matrix_and_no_token_leaks(tmp_path: Path, baseline: mlmon.Baseline) -> None:
    started = time.monotonic()
    env = {"MLMON_ADMIN_TOKEN": ADMIN, "MLMON_INGEST_TOKENS": f"churn={TOKEN_A},fraud={TOKEN_B}"}
    db = f"sqlite:///{tmp_path / 's1.db'}"
    log = tmp_path / "server.log"
    with Cluster(db, log, processes=1, workers=2, settings=env) as cluster:
        url = cluster.urls[0]
        cluster.upload_baseline(baseline, "churn")
        cluster.upload_baseline(baseline, "fraud")
        responses: list[httpx.Response] = []
        failures = []
        admin_routes = {r for r in _app_routes() if r[1].startswith("/admin")}
        for method, path in sorted(ROUTES) + sorted(admin_routes):
            target, expected = ROUTES.get((method, path), (path, {**DENY_B, "model-A": 403}))
            for caller in ["none", "malformed", "empty-bearer", "wrong", "model-A", "admin"]:
                r = _call(url, method, target, CALLERS[caller], baseline, caller)
                responses.append(r)
                want = expected[caller]
                if caller == "admin" and target.startswith("/admin") and r.status_code not in (401, 403):
                    want = r.status_code  # an admin route's body is not valid here; auth passed
                if r.status_code != want or r.status_code >= 500:
                    failures.append(f"{method} {target} as {caller}: {r.status_code} (want {want})")
        assert not failures, "\n".join(failures)
        # The listings across models show model A's token only model A (the admin sees both).
        for caller, want in (("model-A", ["churn"]), ("admin", ["churn", "fraud"])):
            listed = httpx.get(f"{url}/v1/models", headers=CALLERS[caller], timeout=30).json()
            assert sorted(m["name"] for m in listed) == want, caller
        # Only the admin's batch reached model B; model A's token changed nothing there.
        assert reported_rows(url, "fraud", ADMIN) == 11
        metrics = httpx.get(f"{url}/metrics", timeout=10).text
    text = log.read_text() + metrics + "".join(r.text + str(r.headers) for r in responses)
    for token in (ADMIN, TOKEN_A, TOKEN_B, WRONG):
        assert text.count(token) == 0, f"token {token!r} leaked"
    record("S1 auth", load=f"{len(responses)} requests, {len(ROUTES)} routes x {len(CALLERS)} callers",
           faults="no/malformed/wrong/other-model/admin tokens", sent=len(CALLERS), acked=1, lost=0,
           duplicates=0, five_xx=sum(r.status_code >= 500 for r in responses), peak_rss_mib=None,
           seconds=time.monotonic() - started)  # fmt: skip


def _call(url: str, method: str, target: str, headers: dict[str, str], baseline: mlmon.Baseline,
          caller: str) -> httpx.Response:  # fmt: skip
    if method == "POST":
        data = mp(body(f"s1-{caller}", 11, seed=3))
        return httpx.post(url + target, content=data, headers={**headers, **MSGPACK}, timeout=30)
    if method == "PUT":
        return httpx.put(url + target, content=baseline.to_bytes(), headers=headers, timeout=30)
    return httpx.request(method, url + target, headers=headers, timeout=30)
