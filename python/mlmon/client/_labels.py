"""Labels to the drift service: ``POST {url}/v1/models/{model}/labels``, from a batch job or a feedback
handler, minutes to weeks after the predictions.

Unlike feature batches, a label send is not buffered: the caller wants to know what was joined. It is
retried like a feature batch (408, 429, 5xx and network errors, ``Retry-After`` honoured, jittered
backoff) and, since the service joins each request id once, a retry whose first attempt did land
comes back as ``duplicates``, never counted twice. A final 4xx raises :class:`LabelsRefusedError` with
the service's reason.
"""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np

from mlmon.client._columns import check_request_ids
from mlmon.client._core import backoff, retry_after
from mlmon.exceptions import InputError, MlmonError

__all__ = [
    "ATTEMPTS",
    "LabelReceipt",
    "LabelSend",
    "LabelsRefusedError",
    "LabelsUndeliveredError",
    "labels_body",
    "receipt",
]

#: Tries of one label send before :class:`LabelsUndeliveredError` (about 3 s of backoff in all).
ATTEMPTS = 6

_ENCODER = msgspec.msgpack.Encoder()


class LabelsRefusedError(MlmonError, ValueError):
    """The service refused the labels (a final 4xx: unknown model, a label that is not a class...)."""


class LabelsUndeliveredError(MlmonError, ConnectionError):
    """The labels could not be delivered within the attempts (the service down or overloaded); sending
    them again is safe."""


class LabelReceipt(msgspec.Struct, frozen=True):
    """What the service did with a label batch (counts of request ids): see
    :class:`mlmon.service.labels.LabelsResponse`."""

    model: str
    rows: int
    matched: int
    duplicates: int
    conflicts: int
    pending: int
    not_sampled: int


def _plain(values: Any) -> list[Any]:
    """Python values (numpy scalars in a list, an array's items), as msgpack encodes them."""
    out = values.tolist() if isinstance(values, np.ndarray) else list(values)
    return [v.item() if isinstance(v, np.generic) else v for v in out]


def labels_body(request_ids: Any, labels: Any, version: str | None) -> bytes:
    """The msgpack body ``{request_ids, labels, version?}``.

    Raises:
        InputError: lengths differ, no labels, or a request id that is not a string.
    """
    ids, values = _plain(request_ids), _plain(labels)
    if len(ids) != len(values):
        raise InputError(f"request_ids has {len(ids)} values, labels has {len(values)}")
    if not ids:
        raise InputError("send at least one label")
    check_request_ids(ids, allow_none=False)
    body: dict[str, Any] = {"request_ids": ids, "labels": values}
    if version is not None:
        body["version"] = version
    return _ENCODER.encode(body)


def receipt(status: int, content: bytes) -> LabelReceipt | None:
    """The receipt of a 2xx; ``None`` for a status worth retrying (408, 429, 5xx).

    Raises:
        LabelsRefusedError: any other status, with the service's reason.
    """
    if 200 <= status < 300:
        return msgspec.json.decode(content, type=LabelReceipt)
    if status in (408, 429) or status >= 500:
        return None
    try:
        reason = msgspec.json.decode(content).get("detail", "")
    except (msgspec.DecodeError, AttributeError):
        reason = content[:300].decode(errors="replace")
    raise LabelsRefusedError(f"the drift service refused the labels (HTTP {status}): {reason}")


class LabelSend:
    """One label send: its request, and what each attempt's answer means (both client flavours loop
    over :data:`ATTEMPTS` with it and differ only in how they post and wait).

    Raises:
        InputError: (at construction) see :func:`labels_body`.
    """

    def __init__(self, url: str, headers: dict[str, str], request_ids: Any, labels: Any, version: str | None):
        self.url, self.headers = url, headers
        self.body = labels_body(request_ids, labels, version)
        self._last = ""

    def answer(
        self, attempt: int, status: int, content: bytes, retry_after_header: str | None
    ) -> LabelReceipt | float:
        """The receipt, or the seconds to wait before the next attempt.

        Raises:
            LabelsRefusedError: a final 4xx.
        """
        got = receipt(status, content)
        if got is not None:
            return got
        self._last = f"HTTP {status}"
        return retry_after(retry_after_header) or backoff(attempt)

    def failed(self, attempt: int, exc: Exception) -> float:
        """The seconds to wait after a network error."""
        self._last = f"{type(exc).__name__}: {exc}"
        return backoff(attempt)

    def undelivered(self) -> LabelsUndeliveredError:
        """The error once every attempt failed, naming the last failure."""
        return LabelsUndeliveredError(
            f"the labels were not delivered after {ATTEMPTS} attempts (last: {self._last}); sending them "
            "again is safe: labels already joined come back as duplicates"
        )
