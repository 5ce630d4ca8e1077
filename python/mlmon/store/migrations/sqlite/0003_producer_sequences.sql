-- Exactly-once with constant-size state (as Kafka's idempotent producer): per producer of a model
-- version, the highest committed sequence number and a 64-bit mask of which of the 64 sequences up to
-- it were committed (bit i: high_seq - i), so retries in flight and reordering within 64 batches are
-- told apart from new batches without a row per batch (high_seq -1: no batch committed yet). See
-- mlmon.store._sequences.
CREATE TABLE producer_sequences (
    model_version_id INTEGER NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    producer_id      TEXT NOT NULL,
    high_seq         INTEGER NOT NULL CHECK (high_seq >= -1),
    seen_mask        INTEGER NOT NULL,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (model_version_id, producer_id)
) WITHOUT ROWID;

CREATE INDEX producer_sequences_age ON producer_sequences (updated_at);
