"""The production API's endpoints, built per settings (each has its own body limit).

``POST /predict`` scores a batch; ``PUT /admin/model`` receives a deployed artifact: admin token first
(401 missing, 403 wrong; ``hmac.compare_digest``), then the headers, then the body's sha256 against
``X-Model-SHA256`` before any deserializer sees a byte, then the load in a worker thread and the swap.
Pickle and joblib need the operator's say-so (:mod:`mlmon.serving.trust`: 403 otherwise, before the
body is read). ``GET /healthz`` (alive), ``/readyz`` (a model is live), ``/version`` (what is live)
and ``/metrics`` (Prometheus text) never load anything.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from typing import Any

from litestar import Request, Response, get, post, put
from litestar.datastructures import State
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.handlers import HTTPRouteHandler
from prometheus_client import CONTENT_TYPE_LATEST

from mlmon.artifacts import FORMATS, normalize_sha256
from mlmon.exceptions import InputError
from mlmon.serving.metrics import ServingMetrics
from mlmon.serving.models import ModelHolder, check_name
from mlmon.serving.predict import PredictResponse, decode, score, to_columns
from mlmon.serving.settings import ServingSettings
from mlmon.serving.trust import precheck

__all__ = ["ShaMismatchError", "admin_digest", "build_routes"]


class ShaMismatchError(InputError):
    """The body's sha256 is not the one announced (422, with both digests)."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"the artifact's sha256 is {actual}, not the expected {expected}: refused unloaded")
        self.expected, self.actual = expected, actual


def admin_digest(token: str | None) -> bytes | None:
    """The configured admin token as a sha256 digest (``sha256:<hex>`` is taken as the digest itself)."""
    if not token:
        return None
    if token.startswith("sha256:"):
        return bytes.fromhex(token[len("sha256:") :])
    return hashlib.sha256(token.encode()).digest()


def _require_admin(digest: bytes | None, authorization: str | None) -> None:
    if digest is None:
        return
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedException("a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(hashlib.sha256(token.strip().encode()).digest(), digest):
        raise PermissionDeniedException("invalid admin token")


async def _read_capped(request: Request[Any, Any, Any], cap: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise HTTPException(
                status_code=413, detail=f"the artifact is larger than the limit of {cap} bytes"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _deploy_headers(headers: Any, settings: ServingSettings) -> tuple[str, str, str, str]:
    """Name, version, expected digest and format from the deploy headers, checked, and a pickle or
    joblib artifact refused before its body is read unless the configuration may vouch for it."""
    name = check_name("Name", headers.get("x-model-name"))
    version = check_name("Version", headers.get("x-model-version"))
    expected = normalize_sha256(headers.get("x-model-sha256") or "")
    fmt = (headers.get("x-model-format") or "").strip().lower()
    if fmt not in FORMATS:
        raise InputError(f"X-Model-Format must be one of {', '.join(FORMATS)}")
    precheck(settings, fmt, expected, headers.get("x-model-signature"))
    return name, version, expected, fmt


def build_routes(settings: ServingSettings, metrics: ServingMetrics) -> list[HTTPRouteHandler]:
    """The route handlers for these settings."""
    digest = admin_digest(settings.admin_token)

    @post(
        "/predict", operation_id="Predict", status_code=200, request_max_body_size=settings.max_predict_bytes
    )
    async def predict(request: Request[Any, Any, Any], state: State) -> PredictResponse:
        """Scores ``{"rows": [...]}`` or ``{"columns": {...}}`` (JSON or msgpack) with the live model.

        422 names a missing, unknown or unusable feature; 503 while no model is loaded.
        """
        holder: ModelHolder = state.holder
        live = holder.current()  # read once: a swap during this request does not affect it
        req = decode(await request.body(), request.headers.get("content-type"))
        cols = to_columns(req, live.features, settings.max_rows)
        with metrics.latency.time():
            out = await asyncio.to_thread(score, live, cols)
        metrics.rows.labels(live.name, live.version).inc(len(out.predictions))
        return out

    @put(
        "/admin/model",
        operation_id="PutModel",
        status_code=200,
        request_max_body_size=settings.max_artifact_bytes,
    )
    async def put_model(request: Request[Any, Any, Any], state: State) -> dict[str, Any]:
        """Receives a deployed artifact (raw bytes) with ``X-Model-Name``, ``X-Model-Version``,
        ``X-Model-SHA256`` and ``X-Model-Format`` (skops, joblib or pickle; the last two only as
        :mod:`mlmon.serving.trust` allows, with ``X-Model-Signature`` where an HMAC key is configured),
        checks it and swaps it in.
        The same digest already live answers ``"unchanged": true``."""
        _require_admin(digest, request.headers.get("authorization"))
        try:
            name, version, expected, fmt = _deploy_headers(request.headers, settings)
            data = await _read_capped(request, settings.max_artifact_bytes)
            actual = hashlib.sha256(data).hexdigest()
            if not hmac.compare_digest(actual, expected):
                raise ShaMismatchError(expected, actual)
            holder: ModelHolder = state.holder
            signature = request.headers.get("x-model-signature")
            live, unchanged = await holder.deploy(
                data, name=name, version=version, sha256=expected, fmt=fmt, signature=signature
            )
        except Exception:
            metrics.deploys.labels("refused").inc()
            raise
        metrics.deploys.labels("unchanged" if unchanged else "live").inc()
        out: dict[str, Any] = {"model": live.name, "version": live.version, "sha256": live.sha256}
        if unchanged:
            out["unchanged"] = True
        return out

    @get("/metrics", operation_id="Metrics", media_type=CONTENT_TYPE_LATEST)
    async def metrics_text() -> Response[bytes]:
        """Prometheus exposition: rows scored, latency, deploys and the drift client's counters."""
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @get("/version", operation_id="Version")
    async def version(state: State) -> dict[str, str]:
        """``{model, version, sha256, loaded_at}`` of the live model (503 while none is loaded)."""
        holder: ModelHolder = state.holder
        return holder.current().describe()

    @get("/healthz", operation_id="Healthz")
    async def healthz() -> dict[str, str]:
        """Alive: the process answers."""
        return {"status": "ok"}

    @get("/readyz", operation_id="Readyz")
    async def readyz(state: State) -> dict[str, str]:
        """Ready: a model is loaded (503 otherwise)."""
        holder: ModelHolder = state.holder
        return {"status": "ready", "version": holder.current().version}

    return [predict, put_model, version, healthz, readyz, metrics_text]
