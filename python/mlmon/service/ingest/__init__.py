"""The service's write path: a request body becomes durable window counts.

One module per stage, one function each, and :func:`ingest` (the route's only call) running them:
:mod:`.negotiate` (media type, byte budget), :mod:`.count` (decode and count, with the per-version
decoders of :mod:`.decode`), :mod:`.window` (window and digest) and the group commit of
:mod:`.commit`. The wire types are in :mod:`.schemas`.
"""

from __future__ import annotations

from mlmon.service.ingest.count import Folded, decode_and_count, fold
from mlmon.service.ingest.decode import BaselineEntry, batch_key, check_feature_names, decode_envelope
from mlmon.service.ingest.negotiate import Format, media_format, negotiate
from mlmon.service.ingest.pipeline import IngestRequest, commit, ingest
from mlmon.service.ingest.window import partial, window_of

__all__ = [
    "BaselineEntry",
    "Folded",
    "Format",
    "IngestRequest",
    "batch_key",
    "check_feature_names",
    "commit",
    "decode_and_count",
    "decode_envelope",
    "fold",
    "ingest",
    "media_format",
    "negotiate",
    "partial",
    "window_of",
]
