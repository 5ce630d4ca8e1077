"""The worker's baseline cache: each model version's :class:`BaselineEntry` (its baseline with the
decoders of its columns) and each model's default version.

A stored baseline never changes (a new baseline is a new version), so an entry is cached for the
worker's life; the default version is cached only briefly, so a promotion takes effect within
seconds. Its store reads are on the ingest path, so they run under a deadline
(:func:`mlmon.service.storecalls.bounded`).
"""

from __future__ import annotations

import time

from mlmon.service.ingest.decode import BaselineEntry
from mlmon.service.storecalls import bounded
from mlmon.store import NotFoundError, Store

__all__ = ["BaselineCache"]

_DEFAULT_TTL = 5.0


class BaselineCache:
    """Baseline entries per model version and default versions per model, read through from the store.

    Args:
        store: The store.
        max_rows: Rows a batch may hold (the entries' decoders enforce it).
        max_categories: Distinct labels a batch may bring per categorical column.
    """

    def __init__(self, store: Store, max_rows: int, max_categories: int) -> None:
        self._store = store
        self._max_rows = max_rows
        self._max_categories = max_categories
        self._entries: dict[tuple[str, str], BaselineEntry] = {}
        self._defaults: dict[str, tuple[str, float]] = {}

    async def entry(self, model: str, version: str) -> BaselineEntry:
        """The cached baseline of a model version.

        Raises:
            NotFoundError: unknown model or version, or no baseline for it.
            CodecError: the stored bytes are not a baseline.
            InputError: a feature name the service does not accept (stored before names were checked).
        """
        key = (model, version)
        cached = self._entries.get(key)
        if cached is not None:
            return cached
        sha, data = await bounded(self._store.get_baseline, model, version)
        entry = BaselineEntry.build(model, version, sha, data, self._max_rows, self._max_categories)
        self._entries[key] = entry
        return entry

    def _default_version_sync(self, model: str) -> str:
        prod = self._store.production_version(model)
        if prod is not None:
            return prod.version
        with_baseline = []
        for v in self._store.list_versions(model):
            try:
                self._store.get_baseline(model, v.version)
            except NotFoundError:
                continue
            with_baseline.append(v.version)
        if len(with_baseline) != 1:
            raise NotFoundError(
                f"model {model!r} has no production version and {len(with_baseline)} versions with a "
                "baseline; give the version"
            )
        return with_baseline[0]

    async def default_version(self, model: str) -> str:
        """The production version, else the only version with a baseline (cached a few seconds).

        Raises:
            NotFoundError: unknown model, or no single version to choose.
        """
        hit = self._defaults.get(model)
        now = time.monotonic()
        if hit is not None and hit[1] > now:
            return hit[0]
        version = await bounded(self._default_version_sync, model)
        self._defaults[model] = (version, now + _DEFAULT_TTL)
        return version
