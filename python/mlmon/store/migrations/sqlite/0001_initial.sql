-- mlmon schema version 1 (SQLite). Keep in step with ../postgres/0001_initial.sql: same tables, columns,
-- constraints and indexes; only the types differ (timestamps are fixed-width UTC ISO-8601 text, which
-- sorts like time; JSON is text).

CREATE TABLE models (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
);

CREATE TABLE model_versions (
    id                  INTEGER PRIMARY KEY,
    model_id            INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    version             TEXT NOT NULL,
    stage               TEXT NOT NULL DEFAULT 'none'
                        CHECK (stage IN ('none', 'staging', 'production', 'archived')),
    metrics             TEXT NOT NULL DEFAULT '{}',
    params              TEXT NOT NULL DEFAULT '{}',
    feature_schema      TEXT NOT NULL DEFAULT '{}',
    feature_importances TEXT NOT NULL DEFAULT '{}',
    artifact_uri        TEXT,
    artifact_sha256     TEXT,
    git_sha             TEXT,
    created_at          TEXT NOT NULL,
    deployed_at         TEXT,
    UNIQUE (model_id, version)
);

-- The invariant: at most one production version per model, enforced by the database.
CREATE UNIQUE INDEX model_versions_one_production ON model_versions (model_id) WHERE stage = 'production';

-- Baselines are content-addressed: drift results and alerts reference the exact bytes by sha256.
CREATE TABLE baselines (
    sha256     TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    data       BLOB NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE model_version_baselines (
    model_version_id INTEGER NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    baseline_sha256  TEXT NOT NULL REFERENCES baselines (sha256),
    created_at       TEXT NOT NULL,
    PRIMARY KEY (model_version_id, baseline_sha256)
);

CREATE TABLE window_partials (
    id               INTEGER PRIMARY KEY,
    model_version_id INTEGER NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    window_start     TEXT NOT NULL,
    window_end       TEXT NOT NULL,
    writer_id        TEXT NOT NULL,
    profile          BLOB NOT NULL,
    row_count        INTEGER NOT NULL CHECK (row_count >= 0),
    created_at       TEXT NOT NULL,
    CHECK (window_end > window_start)
);

CREATE INDEX window_partials_range ON window_partials (model_version_id, window_start, window_end);

CREATE TABLE ingested_batches (
    model_version_id INTEGER NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    batch_id         TEXT NOT NULL,
    digest           TEXT NOT NULL,
    ingested_at      TEXT NOT NULL,
    PRIMARY KEY (model_version_id, batch_id)
) WITHOUT ROWID;

CREATE INDEX ingested_batches_age ON ingested_batches (ingested_at);

CREATE TABLE drift_results (
    id               INTEGER PRIMARY KEY,
    model_version_id INTEGER NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    window_start     TEXT NOT NULL,
    window_end       TEXT NOT NULL,
    feature          TEXT NOT NULL,
    score            REAL,
    severity         TEXT NOT NULL CHECK (severity IN ('ok', 'warning', 'critical', 'insufficient_data')),
    baseline_sha256  TEXT NOT NULL REFERENCES baselines (sha256),
    details          TEXT NOT NULL DEFAULT '{}',
    computed_at      TEXT NOT NULL,
    UNIQUE (model_version_id, feature, window_start, window_end, baseline_sha256)
);

CREATE INDEX drift_results_feature ON drift_results (feature, window_start);

CREATE TABLE alerts (
    id                INTEGER PRIMARY KEY,
    model_version_id  INTEGER NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    window_start      TEXT NOT NULL,
    window_end        TEXT NOT NULL,
    feature           TEXT,
    severity          TEXT NOT NULL CHECK (severity IN ('warning', 'critical')),
    score             REAL,
    baseline_sha256   TEXT NOT NULL REFERENCES baselines (sha256),
    state             TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    delivery_attempts INTEGER NOT NULL DEFAULT 0 CHECK (delivery_attempts >= 0),
    last_error        TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);

CREATE INDEX alerts_by_version ON alerts (model_version_id, created_at);
