"""The production API's Litestar dependencies: the model holder, the settings and the metrics, each
injected by name from ``app.state`` (set by :func:`mlmon.serving.app.create_app`)."""

from __future__ import annotations

from litestar.datastructures import State
from litestar.di import Provide

from mlmon.serving.metrics import ServingMetrics
from mlmon.serving.models import ModelHolder
from mlmon.serving.settings import ServingSettings

__all__ = ["dependencies"]


def _holder(state: State) -> ModelHolder:
    holder: ModelHolder = state.holder
    return holder


def _settings(state: State) -> ServingSettings:
    settings: ServingSettings = state.settings
    return settings


def _metrics(state: State) -> ServingMetrics:
    metrics: ServingMetrics = state.metrics
    return metrics


def dependencies() -> dict[str, Provide]:
    """The mapping given to ``Litestar(dependencies=...)`` (attribute reads: none runs in a thread)."""
    providers = {"holder": _holder, "settings": _settings, "metrics": _metrics}
    return {name: Provide(fn, sync_to_thread=False) for name, fn in providers.items()}
