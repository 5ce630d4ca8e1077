"""``mlmon.serving``: the reference production API (``mlmon serve-model``).

``POST /predict`` scores a batch with the live model and forwards the scored features to the drift
service through :class:`mlmon.client.DriftClient`; ``PUT /admin/model`` receives a deployed artifact
(admin token, sha256 checked before loading, atomic swap); ``GET /healthz``, ``/readyz`` and
``/version``. Needs ``pip install 'mlmon[serving]'``. The web stack is imported on first use of
:func:`create_app`, so ``mlmon --help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlmon.serving.settings import ServingSettings

if TYPE_CHECKING:
    from mlmon.serving.app import create_app

__all__ = ["ServingSettings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from mlmon.serving.app import create_app

        return create_app
    raise AttributeError(f"module 'mlmon.serving' has no attribute {name!r}")
