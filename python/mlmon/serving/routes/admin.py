"""``PUT /admin/model``: receives a deployed artifact and swaps it in.

The admin guard runs first (401 missing, 403 wrong), then the checks of :mod:`mlmon.serving.upload`
(headers, the trust rule of :mod:`mlmon.serving.trust` before the body is read, the capped body, its
sha256), then the load in a worker thread and the swap. Every refusal after the guard counts as a
``refused`` deploy (:func:`deploy_refusals_hook`); the handler holds no ``try``/``except``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Request, put
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.types import Scope

from mlmon.serving.guards import admin_only
from mlmon.serving.metrics import ServingMetrics
from mlmon.serving.models import ModelHolder
from mlmon.serving.settings import ServingSettings
from mlmon.serving.upload import check_sha256, deploy_headers, read_capped

__all__ = ["COUNT_DEPLOY_REFUSALS", "ModelAdminController", "deploy_refusals_hook"]

COUNT_DEPLOY_REFUSALS = "count_deploy_refusals"
"""The ``opt`` key of the handler whose refusals count as ``refused`` deploys."""


def deploy_refusals_hook(metrics: ServingMetrics) -> Callable[[Exception, Scope], Awaitable[None]]:
    """The ``after_exception`` hook counting refused deploys (the guard's 401/403 are not deploys)."""

    async def count(exc: Exception, scope: Scope) -> None:
        handler = scope.get("route_handler")
        if handler is None or not handler.opt.get(COUNT_DEPLOY_REFUSALS):
            return
        if not isinstance(exc, (NotAuthorizedException, PermissionDeniedException)):
            metrics.deploys.labels("refused").inc()

    return count


class ModelAdminController(Controller):
    """Deploys (admin token)."""

    path = "/admin"
    tags = ("admin",)
    guards = (admin_only,)

    @put("/model", operation_id="PutModel", status_code=200, opt={COUNT_DEPLOY_REFUSALS: True})
    async def put_model(
        self,
        request: Request[Any, Any, Any],
        holder: NamedDependency[ModelHolder],
        settings: NamedDependency[ServingSettings],
        metrics: NamedDependency[ServingMetrics],
    ) -> dict[str, Any]:
        """Receives a deployed artifact (raw bytes) with ``X-Model-Name``, ``X-Model-Version``,
        ``X-Model-SHA256`` and ``X-Model-Format`` (skops, joblib or pickle; the last two only as
        :mod:`mlmon.serving.trust` allows, with ``X-Model-Signature`` where an HMAC key is configured),
        and optionally ``X-Model-Outputs`` (the output columns its baseline records, sent to the drift
        service with the features), checks it and swaps it in. The same digest already live answers
        ``"unchanged": true``."""
        announced = deploy_headers(request.headers, settings)
        data = await read_capped(request, settings.max_artifact_bytes)
        check_sha256(data, announced.sha256)
        live, unchanged = await holder.deploy(
            data,
            name=announced.name,
            version=announced.version,
            sha256=announced.sha256,
            fmt=announced.fmt,
            signature=announced.signature,
            outputs=announced.outputs,
        )
        metrics.deploys.labels("unchanged" if unchanged else "live").inc()
        out: dict[str, Any] = {"model": live.name, "version": live.version, "sha256": live.sha256}
        if unchanged:
            out["unchanged"] = True
        return out
