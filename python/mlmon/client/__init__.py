"""``mlmon.client``: what a production API embeds to send the features it scores to the drift service.

:class:`DriftClient` (a background thread) and :class:`AsyncDriftClient` (an asyncio task) buffer rows
and column batches, send them by size or age as msgpack with binary numeric columns, retry with the same
producer id and sequence number (the service counts a batch once), keep memory bounded by dropping and
counting the oldest batches, and never raise into or slow the caller. Needs ``httpx``
(``pip install 'mlmon[client]'``).
"""

from mlmon.client._async import AsyncDriftClient
from mlmon.client._core import backoff, retry_after
from mlmon.client._labels import LabelReceipt, LabelsRefusedError, LabelsUndeliveredError
from mlmon.client._sync import DriftClient

__all__ = [
    "AsyncDriftClient",
    "DriftClient",
    "LabelReceipt",
    "LabelsRefusedError",
    "LabelsUndeliveredError",
    "backoff",
    "retry_after",
]
