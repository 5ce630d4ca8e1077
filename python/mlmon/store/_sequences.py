"""Exactly-once ingest with constant-size state: producer ids and sequence numbers, as Kafka's idempotent
producer keeps them.

A producer (one client process: ``DriftClient`` makes a random id) numbers its batches 0, 1, 2... and
resends a batch with the same number. Per (model version, producer) the store keeps the highest committed
sequence ``high`` and a 64-bit mask of which of the 64 sequences ``high, high - 1, ... high - 63`` were
committed. A sequence above ``high`` (by at most :data:`WINDOW`) is new; one inside the mask is new or a
retry, as its bit says; anything further ahead (a gap) or further behind (a reordering the window cannot
resolve) is refused, and the service answers 409 with the reason. So the state is one row per producer,
whatever the number of batches, and a retry in flight or a batch overtaken by up to 63 others is still
told apart from a new one. Idle producers are forgotten after a retention period (see
:class:`~mlmon.store.RetentionPolicy`): a producer that then comes back starts afresh.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Literal

from mlmon.store._sql import SqlCore, Tx
from mlmon.store.names import validate_timestamp

__all__ = ["WINDOW", "Admission", "SequenceOps", "admit"]

#: How many sequences below the highest one are remembered, and how far above it a new one may be.
WINDOW = 64
_FULL = (1 << WINDOW) - 1

Admission = Literal["accepted", "duplicate", "ahead", "behind"]


def admit(high: int | None, mask: int, seq: int) -> tuple[Admission, int | None, int]:
    """Decides one sequence number against a producer's state; returns the outcome and the new state.

    Args:
        high: The highest committed sequence (``None``: the producer is new here).
        mask: Bit ``i`` set when ``high - i`` was committed (bit 0 is ``high`` itself).
        seq: The batch's sequence number (>= 0).

    Returns:
        ``(outcome, high, mask)``: ``accepted`` (count it), ``duplicate`` (counted before: acknowledge),
        ``ahead`` (more than :data:`WINDOW` above ``high``: a gap) or ``behind`` (older than the window).
    """
    if high is None:
        return "accepted", seq, 1
    if seq > high:
        shift = seq - high
        if shift > WINDOW:
            return "ahead", high, mask
        return "accepted", seq, ((mask << shift) | 1) & _FULL
    back = high - seq
    if back >= WINDOW:
        return "behind", high, mask
    bit = 1 << back
    if mask & bit:
        return "duplicate", high, mask
    return "accepted", high, mask | bit


def _signed(mask: int) -> int:
    """The mask as the signed 64-bit integer both databases store."""
    return mask - (1 << WINDOW) if mask >= 1 << (WINDOW - 1) else mask


class SequenceOps(SqlCore):
    """The producer-sequence table on the shared SQL core."""

    def _admit_sequences(
        self, tx: Tx, version_id: int, by_producer: Mapping[str, Sequence[int]]
    ) -> dict[str, list[Admission]]:
        """Admits each producer's sequences in order, inside the ingest transaction; returns the outcomes.

        Three statements whatever the number of producers (a group commit holds batches of many): their
        rows are created, locked and updated together, in producer order so that two replicas locking
        an overlapping set cannot deadlock. The rows are locked (``FOR UPDATE`` on PostgreSQL; SQLite's
        write transaction is exclusive), so two replicas admitting the same producer's retry serialize
        and exactly one counts it.
        """
        producers = sorted(by_producer)
        if not producers:
            return {}
        now = tx.ts(datetime.now(timezone.utc))
        # The rows exist before they are locked: a concurrent first batch of the same producer then waits
        # on the insert or the lock instead of failing the whole group commit on the primary key.
        tx.execute(
            "INSERT INTO producer_sequences (model_version_id, producer_id, high_seq, seen_mask, updated_at)"
            " VALUES "
            + ", ".join(["(?, ?, -1, 0, ?)"] * len(producers))
            + " ON CONFLICT (model_version_id, producer_id) DO NOTHING",
            [x for p in producers for x in (version_id, p, now)],
        )
        rows = tx.all(
            "SELECT producer_id, high_seq, seen_mask FROM producer_sequences WHERE model_version_id = ?"
            f" AND producer_id IN ({', '.join('?' * len(producers))}) ORDER BY producer_id" + self.for_update,
            [version_id, *producers],
        )
        state = {str(r[0]): (None if int(r[1]) < 0 else int(r[1]), int(r[2]) & _FULL) for r in rows}
        outcomes: dict[str, list[Admission]] = {}
        updates: list[tuple[object, ...]] = []
        for producer in producers:
            if producer not in state:  # pragma: no cover - inserted above in this transaction
                raise AssertionError("producer row vanished inside its transaction")
            high, mask = state[producer]
            verdicts: list[Admission] = []
            for seq in by_producer[producer]:
                outcome, high, mask = admit(high, mask, seq)
                verdicts.append(outcome)
            outcomes[producer] = verdicts
            if "accepted" in verdicts:
                updates.append((high, _signed(mask), now, version_id, producer))
        if updates:
            # One pipelined round trip on PostgreSQL (psycopg's executemany), one statement on SQLite.
            tx.executemany(
                "UPDATE producer_sequences SET high_seq = ?, seen_mask = ?, updated_at = ?"
                " WHERE model_version_id = ? AND producer_id = ?",
                updates,
            )
        return outcomes

    def expire_producers(self, before: datetime) -> int:
        """Forgets producers that committed nothing since ``before``; returns how many."""
        before = validate_timestamp(before, "before")
        return self._run(
            lambda tx: tx.execute("DELETE FROM producer_sequences WHERE updated_at < ?", (tx.ts(before),)),
            write=True,
        )
