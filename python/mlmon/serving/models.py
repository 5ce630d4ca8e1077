"""The live model and its atomic swap.

The live model is one immutable :class:`LiveModel` (estimator, metadata, drift client) behind one
attribute. A request reads the attribute once and uses that object to the end, so a swap (a single
assignment, done after the new model is fully loaded) never changes a model under a running prediction
and never makes a request wait. Deploys are serialised by a lock; loading runs in a worker thread so the
event loop keeps serving. The replaced model's drift client is closed after a grace period, so
predictions still running on the old model can record their rows.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from mlmon.client import DriftClient
from mlmon.core.artifacts import FORMATS, load_model, normalize_sha256
from mlmon.core.outputs import PREDICTION
from mlmon.exceptions import InputError, MlmonError
from mlmon.serving.artifacts_dir import ArtifactDir
from mlmon.serving.settings import ServingSettings
from mlmon.serving.trust import verify

__all__ = ["LiveModel", "ModelHolder", "NoModelError", "features_of"]

_log = logging.getLogger("mlmon.serving")
_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
RETIRE_SECONDS = 10.0
"""How long a replaced model's drift client stays open for predictions that started before the swap."""


class NoModelError(MlmonError):
    """No model is loaded yet (503)."""


@dataclass(frozen=True)
class LiveModel:
    """A loaded model and what describes it; never mutated (a swap replaces the whole object).

    Attributes:
        estimator: The fitted model (has ``predict``).
        name: Model name.
        version: Model version.
        sha256: The artifact's digest.
        fmt: The artifact format.
        loaded_at: When it went live.
        features: Feature names, in the order the estimator takes them.
        named: Whether the estimator was fitted with feature names (then it is given a DataFrame).
        drift: The client sending its scored features, or ``None`` when no drift service is configured.
    """

    estimator: Any
    name: str
    version: str
    sha256: str
    fmt: str
    loaded_at: datetime
    features: tuple[str, ...]
    named: bool
    drift: DriftClient | None
    #: The output columns its baseline records (sent with the features); none unless the deploy said.
    outputs: tuple[str, ...] = ()

    def describe(self) -> dict[str, str]:
        """``{model, version, sha256, loaded_at}`` as ``GET /version`` shows it."""
        return {
            "model": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "loaded_at": self.loaded_at.isoformat(),
        }


def features_of(estimator: Any) -> tuple[tuple[str, ...], bool]:
    """The estimator's feature names (``feature_names_in_``, else ``x0``, ``x1``... from
    ``n_features_in_``) and whether they are its own.

    Raises:
        InputError: no ``predict`` or no way to know its features.
    """
    if not callable(getattr(estimator, "predict", None)):
        raise InputError(f"the artifact holds a {type(estimator).__name__}, which has no predict()")
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None:
        return tuple(str(n) for n in names), True
    n = getattr(estimator, "n_features_in_", None)
    if isinstance(n, int) and n > 0:
        return tuple(f"x{i}" for i in range(n)), False
    raise InputError(
        "the model does not say which features it takes (no feature_names_in_ or n_features_in_)"
    )


def check_name(label: str, value: str | None) -> str:
    """A model name or version from a header.

    Raises:
        InputError: missing, or not matching ``^[A-Za-z0-9_.:-]{1,128}$``.
    """
    if not value or not _NAME.match(value):
        raise InputError(f"X-Model-{label} is required and must match {_NAME.pattern}")
    return value


class ModelHolder:
    """Holds the live model; :meth:`deploy` swaps in a new one.

    Args:
        settings: Where artifacts are kept and where scored features go.
        registry: Where the drift clients count their rows (the app's registry).
    """

    def __init__(self, settings: ServingSettings, registry: Any = None) -> None:
        self.settings = settings
        self.registry = registry
        self.live: LiveModel | None = None
        self.artifacts = ArtifactDir(settings.model_dir) if settings.model_dir else None
        self._lock = asyncio.Lock()
        self._retiring: dict[asyncio.Task[None], DriftClient] = {}

    def current(self) -> LiveModel:
        """The live model, read once by each request.

        Raises:
            NoModelError: none loaded yet.
        """
        live = self.live
        if live is None:
            raise NoModelError("no model is loaded yet: deploy one with PUT /admin/model")
        return live

    def _drift(self, name: str, version: str, estimator: Any, outputs: tuple[str, ...]) -> DriftClient | None:
        s = self.settings
        if not s.drift_url:
            return None
        # A classifier's predicted labels are categories even when they are integers.
        classifier = getattr(estimator, "classes_", None) is not None
        kinds: dict[str, Literal["categorical"]] = (
            {PREDICTION: "categorical"} if classifier and PREDICTION in outputs else {}
        )
        return DriftClient(
            s.drift_url,
            name,
            version=version,
            kinds=kinds,
            token=s.drift_token,
            batch_rows=s.drift_batch_rows,
            flush_interval=s.drift_flush_interval,
            registry=self.registry,
        )

    async def deploy(
        self,
        data: bytes,
        *,
        name: str,
        version: str,
        sha256: str,
        fmt: str,
        signature: str | None = None,
        outputs: tuple[str, ...] = (),
    ) -> tuple[LiveModel, bool]:
        """Loads an artifact whose digest was already checked, stores it, and swaps it in.

        Returns:
            The live model and whether it was already live (same digest, name and version).

        Raises:
            UntrustedArtifactError: a pickle or joblib artifact the configuration does not vouch for.
            ArtifactError: the artifact does not load (the old model stays live).
            InputError: a bad name, format or digest, or a model without features.
        """
        name, version, sha256 = (
            check_name("Name", name),
            check_name("Version", version),
            normalize_sha256(sha256),
        )
        if fmt not in FORMATS:
            raise InputError(f"X-Model-Format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        verify(self.settings, fmt, sha256, data, signature)  # before any deserializer sees a byte
        async with self._lock:
            old = self.live
            same = old is not None and (old.sha256, old.name, old.version) == (sha256, name, version)
            if old is not None and same and old.outputs == outputs:
                return old, True
            if old is not None and old.sha256 == sha256:
                estimator = old.estimator  # same bytes under a new name or version: no reload
            else:
                estimator = await asyncio.to_thread(load_model, data, fmt=fmt, expected_sha256=sha256)
            features, named = features_of(estimator)
            if self.artifacts is not None:
                meta = {"name": name, "version": version, "signature": signature, "outputs": list(outputs)}
                await asyncio.to_thread(self.artifacts.save, data, sha256, fmt, meta)
            new = LiveModel(
                estimator,
                name,
                version,
                sha256,
                fmt,
                datetime.now(timezone.utc),
                features,
                named,
                self._drift(name, version, estimator, outputs),
                outputs,
            )
            self.live = new  # the swap: requests that already read self.live keep their object
        _log.info("model %s version %s (sha256 %s) is live", name, version, sha256[:12])
        if old is not None and old.drift is not None:
            self._retire(old.drift)
        return new, False

    async def restore(self) -> None:
        """Serves the artifact ``current.json`` names, if any (a restart keeps the last deploy)."""
        found = None if self.artifacts is None else await asyncio.to_thread(self.artifacts.current)
        if found is None:
            return
        meta, data = found
        try:
            await self.deploy(
                data,
                name=str(meta.get("name")),
                version=str(meta.get("version")),
                sha256=str(meta["sha256"]),
                fmt=str(meta["format"]),
                signature=meta.get("signature"),
                outputs=tuple(str(n) for n in meta.get("outputs") or ()),
            )
        except Exception as exc:  # a stale or damaged directory must not stop the API from starting
            _log.warning("the stored model could not be restored: %s", exc)

    def _retire(self, client: DriftClient) -> None:
        async def later() -> None:
            await asyncio.sleep(RETIRE_SECONDS)
            await asyncio.to_thread(client.close)

        task = asyncio.get_running_loop().create_task(later())
        self._retiring[task] = client
        task.add_done_callback(lambda done: self._retiring.pop(done, None))

    async def close(self) -> None:
        """Sends what every drift client holds and stops them (at shutdown)."""
        clients = list(self._retiring.values())
        for task in list(self._retiring):
            task.cancel()
        if self.live is not None and self.live.drift is not None:
            clients.append(self.live.drift)
        await asyncio.gather(*(asyncio.to_thread(c.close) for c in clients))
