"""The service's wire types beyond ingest: msgspec Structs of the model and baseline listings.

The ingest body's types live with the write path, in :mod:`mlmon.service.ingest.schemas`. This module
imports no web framework.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from mlmon.core.schema import FeatureKind

__all__ = ["BaselineInfo", "ModelSummary"]


class BaselineInfo(msgspec.Struct):
    """A stored baseline: where it belongs, its sha256 and its features."""

    model: str
    version: str
    sha256: str
    features: dict[str, FeatureKind]
    n_rows: int


class ModelSummary(msgspec.Struct):
    """A model, its versions and the production one."""

    name: str
    description: str
    created_at: datetime
    versions: list[str]
    production_version: str | None
