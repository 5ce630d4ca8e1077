"""The registry and its baselines: list models and versions, upload and fetch baselines."""

from __future__ import annotations

import hashlib
from typing import Any

import anyio.to_thread
from litestar import Controller, Request, Response, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath

from mlmon.core.baseline import Baseline
from mlmon.service.deps import InjectedStore
from mlmon.service.guards import admin_only, model_reader
from mlmon.service.ingest.decode import check_feature_names
from mlmon.service.schemas import BaselineInfo, ModelSummary
from mlmon.store import ConflictError, ModelVersion, NotFoundError, Store

__all__ = ["BaselinesController"]

_OCTET = "application/octet-stream"


def _summaries(store: Store, scope: frozenset[str] | None) -> list[ModelSummary]:
    out = []
    for m in store.list_models():
        if scope is not None and m.name not in scope:
            continue
        versions = store.list_versions(m.name)
        prod = next((v.version for v in versions if v.stage == "production"), None)
        out.append(ModelSummary(m.name, m.description, m.created_at, [v.version for v in versions], prod))
    return out


def _put_baseline(store: Store, model: str, version: str, data: bytes) -> str:
    try:
        sha, _ = store.get_baseline(model, version)
    except NotFoundError:
        return store.put_baseline(model, version, data)
    # A version keeps one baseline: its partials are counted on that baseline's bins, so another one
    # would make them unmergeable. A new baseline is a new version; the same bytes again are a no-op.
    if sha != hashlib.sha256(data).hexdigest():
        raise ConflictError(f"{model}/{version} already has another baseline; register a new version")
    return sha


class BaselinesController(Controller):
    """Models, versions and baselines."""

    path = "/v1"
    tags = ("registry",)

    @get("/models", operation_id="ListModels")
    async def list_models(
        self, store: NamedDependency[InjectedStore], read_scope: NamedDependency[frozenset[str] | None]
    ) -> list[ModelSummary]:
        """The registered models with their versions and production version: every model for the admin
        token, only its own models for an ingest token."""
        return await anyio.to_thread.run_sync(_summaries, store, read_scope)

    @get("/models/{model:str}/versions", operation_id="ListVersions", guards=[model_reader])
    async def list_versions(
        self, model: FromPath[str], store: NamedDependency[InjectedStore]
    ) -> list[ModelVersion]:
        """The versions of a model, oldest first (404 for an unknown model)."""
        return await anyio.to_thread.run_sync(store.list_versions, model)

    @put(
        "/models/{model:str}/versions/{version:str}/baseline",
        operation_id="PutBaseline",
        status_code=200,
        guards=[admin_only],
    )
    async def put_baseline(
        self,
        request: Request[Any, Any, Any],
        model: FromPath[str],
        version: FromPath[str],
        store: NamedDependency[InjectedStore],
    ) -> BaselineInfo:
        """Stores a baseline (the bytes ``Baseline.save`` writes; admin token). Registers the model and
        version if needed. Invalid bytes or a feature name outside ``[A-Za-z0-9_.:-]`` are a 422
        naming the problem; another baseline for the same version a 409."""
        data = await request.body()
        baseline = Baseline.from_bytes(data)  # CodecError → 422
        check_feature_names(baseline)  # InputError → 422, before anything is stored
        await anyio.to_thread.run_sync(lambda: store.register_version(model, version))
        sha = await anyio.to_thread.run_sync(_put_baseline, store, model, version, data)
        kinds = {name: spec.kind for name, spec in baseline.features.items()}
        return BaselineInfo(model, version, sha, kinds, baseline.n_rows)

    @get(
        "/models/{model:str}/versions/{version:str}/baseline",
        operation_id="GetBaseline",
        media_type=_OCTET,
        guards=[model_reader],
    )
    async def get_baseline(
        self, model: FromPath[str], version: FromPath[str], store: NamedDependency[InjectedStore]
    ) -> Response[bytes]:
        """The stored baseline bytes (header ``X-Baseline-SHA256``)."""
        sha, data = await anyio.to_thread.run_sync(store.get_baseline, model, version)
        return Response(data, media_type=_OCTET, headers={"X-Baseline-SHA256": sha})
