"""The service's Litestar dependencies: each part of the worker (:class:`~mlmon.service.worker.Worker`,
kept on ``app.state.worker``) as its own injected parameter, so a handler names what it uses
(``store: Store``, ``reports: Reports``...) and nothing reaches through a shared state object.

``read_scope`` is the one per-request dependency: the models a listing across models may show.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide

from mlmon.service.baselines import BaselineCache
from mlmon.service.metrics import Metrics
from mlmon.service.reports import Reports
from mlmon.service.settings import Settings
from mlmon.service.worker import LabelPath, Lifecycle, Worker, WritePath
from mlmon.store import Store

__all__ = ["InjectedStore", "dependencies", "worker_of"]

# Litestar checks each injected value against its annotation (msgspec, isinstance). Store is a
# Protocol, not runtime-checkable, so handlers annotate ``store: NamedDependency[InjectedStore]``:
# the type checker sees Store, Litestar sees Any and checks nothing.
if TYPE_CHECKING:
    InjectedStore: TypeAlias = Store
else:
    InjectedStore = Any


def worker_of(state: State) -> Worker:
    """The worker the app's startup hook built (``app.state.worker``)."""
    worker: Worker = state.worker
    return worker


def _settings(state: State) -> Settings:
    return worker_of(state).settings


def _store(state: State) -> Store:
    return worker_of(state).store


def _metrics(state: State) -> Metrics:
    return worker_of(state).metrics


def _baselines(state: State) -> BaselineCache:
    return worker_of(state).baselines


def _reports(state: State) -> Reports:
    return worker_of(state).reports


def _lifecycle(state: State) -> Lifecycle:
    return worker_of(state).lifecycle


def _write_path(state: State) -> WritePath:
    return worker_of(state).write_path


def _label_path(state: State) -> LabelPath:
    return worker_of(state).label_path


def _read_scope(request: Request[Any, Any, Any], state: State) -> frozenset[str] | None:
    # None (every model) with public_read or the admin token, else only the ingest token's own models:
    # one model's token sees no other model's names. No or an unknown token is a 401.
    worker = worker_of(state)
    if worker.settings.public_read:
        return None
    return worker.auth.readable(request.headers.get("authorization"))


def dependencies() -> dict[str, Provide]:
    """The mapping given to ``Litestar(dependencies=...)``: every provider is a plain attribute read,
    so none runs in a thread."""
    providers: dict[str, Callable[..., Any]] = {
        "settings": _settings,
        "store": _store,
        "metrics": _metrics,
        "baselines": _baselines,
        "reports": _reports,
        "lifecycle": _lifecycle,
        "write_path": _write_path,
        "label_path": _label_path,
        "read_scope": _read_scope,
    }
    return {name: Provide(fn, sync_to_thread=False) for name, fn in providers.items()}
