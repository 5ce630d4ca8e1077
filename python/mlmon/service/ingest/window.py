"""Stage 3 of ingest: the tumbling window a batch falls in, and the partial (with its digest) that the
commit stage stores for it."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from mlmon.exceptions import InputError
from mlmon.service.ingest.count import Folded
from mlmon.service.ingest.decode import BaselineEntry
from mlmon.store import PartialWindow

__all__ = ["partial", "window_of"]

_FUTURE_SLACK = timedelta(days=1)


def window_of(sent_at: datetime | None, now: datetime, seconds: int) -> tuple[datetime, datetime]:
    """The tumbling window ``[start, end)`` that ``sent_at`` (else ``now``) falls in.

    Raises:
        InputError: ``sent_at`` more than a day in the future (a clock error, not data).
    """
    when = now if sent_at is None else sent_at
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    if when > now + _FUTURE_SLACK:
        raise InputError(f"sent_at {when.isoformat()} is more than a day in the future")
    key = int(when.timestamp() // seconds)
    start = datetime.fromtimestamp(key * seconds, timezone.utc)
    return start, start + timedelta(seconds=seconds)


def partial(
    entry: BaselineEntry, folded: Folded, window: tuple[datetime, datetime], pinned: bool = True
) -> tuple[str, PartialWindow]:
    """The batch's partial and its digest: same version, window and counts give the same digest, so a
    retry in another encoding is still a duplicate, while a different batch under a reused id is not.

    ``pinned`` says the sender chose the window (``sent_at``). Without it the window is the arrival's
    and stays out of the digest: a retry that arrives after the window turned (after an ambiguous
    commit's 503, say) is the same batch, a duplicate, not a 409."""
    start, end = window
    when = start.isoformat() if pinned else "arrival"
    digest = hashlib.sha256(
        f"{entry.version}\0{entry.sha256}\0{when}\0".encode() + folded.profile
    ).hexdigest()
    return digest, PartialWindow(window_start=start, window_end=end, profile=folded.profile, rows=folded.rows)
