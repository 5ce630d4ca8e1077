-- Delayed ground truth (see mlmon.store._labels). A prediction kept for the label join: one row per
-- sampled request id of a model, with the window it was counted in and what the model answered
-- (class index or regression value; the class probabilities as little-endian float64). A label that
-- arrives before its prediction waits in pending_labels. Joined counts go to window_performance, one
-- row per window per commit and writer ('realized'; 'estimate' holds the label-free CBPE counts of
-- ingested batches), merged on read like window_partials. label_stats counts what expired unjoined.
CREATE TABLE predictions (
    model_id         BIGINT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    request_id       TEXT NOT NULL,
    model_version_id BIGINT NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    window_start     TIMESTAMPTZ NOT NULL,
    window_end       TIMESTAMPTZ NOT NULL,
    predicted        DOUBLE PRECISION NOT NULL,
    scores           BYTEA,
    label            TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    labelled_at      TIMESTAMPTZ,
    PRIMARY KEY (model_id, request_id)
);

CREATE INDEX predictions_age ON predictions (created_at);

CREATE TABLE pending_labels (
    model_id    BIGINT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    request_id  TEXT NOT NULL,
    label       TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (model_id, request_id)
);

CREATE INDEX pending_labels_age ON pending_labels (received_at);

CREATE TABLE window_performance (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model_version_id BIGINT NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    kind             TEXT NOT NULL CHECK (kind IN ('realized', 'estimate')),
    window_start     TIMESTAMPTZ NOT NULL,
    window_end       TIMESTAMPTZ NOT NULL,
    writer_id        TEXT NOT NULL,
    counts           BYTEA NOT NULL,
    row_count        BIGINT NOT NULL CHECK (row_count >= 0),
    created_at       TIMESTAMPTZ NOT NULL,
    CHECK (window_end > window_start)
);

CREATE INDEX window_performance_range ON window_performance (model_version_id, kind, window_start);

CREATE TABLE label_stats (
    model_id            BIGINT PRIMARY KEY REFERENCES models (id) ON DELETE CASCADE,
    expired_predictions BIGINT NOT NULL DEFAULT 0 CHECK (expired_predictions >= 0),
    expired_labels      BIGINT NOT NULL DEFAULT 0 CHECK (expired_labels >= 0)
);
