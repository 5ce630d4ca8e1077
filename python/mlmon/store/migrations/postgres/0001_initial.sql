-- mlmon schema version 1 (PostgreSQL). Keep in step with ../sqlite/0001_initial.sql: same tables, columns,
-- constraints and indexes; only the types differ (TIMESTAMPTZ, JSONB, BYTEA, identity columns).

CREATE TABLE models (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE model_versions (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model_id            BIGINT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    version             TEXT NOT NULL,
    stage               TEXT NOT NULL DEFAULT 'none'
                        CHECK (stage IN ('none', 'staging', 'production', 'archived')),
    metrics             JSONB NOT NULL DEFAULT '{}',
    params              JSONB NOT NULL DEFAULT '{}',
    feature_schema      JSONB NOT NULL DEFAULT '{}',
    feature_importances JSONB NOT NULL DEFAULT '{}',
    artifact_uri        TEXT,
    artifact_sha256     TEXT,
    git_sha             TEXT,
    created_at          TIMESTAMPTZ NOT NULL,
    deployed_at         TIMESTAMPTZ,
    UNIQUE (model_id, version)
);

-- The invariant: at most one production version per model, enforced by the database.
CREATE UNIQUE INDEX model_versions_one_production ON model_versions (model_id) WHERE stage = 'production';

-- Baselines are content-addressed: drift results and alerts reference the exact bytes by sha256.
CREATE TABLE baselines (
    sha256     TEXT PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    data       BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE model_version_baselines (
    model_version_id BIGINT NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    baseline_sha256  TEXT NOT NULL REFERENCES baselines (sha256),
    created_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (model_version_id, baseline_sha256)
);

CREATE TABLE window_partials (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model_version_id BIGINT NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    window_start     TIMESTAMPTZ NOT NULL,
    window_end       TIMESTAMPTZ NOT NULL,
    writer_id        TEXT NOT NULL,
    profile          BYTEA NOT NULL,
    row_count        BIGINT NOT NULL CHECK (row_count >= 0),
    created_at       TIMESTAMPTZ NOT NULL,
    CHECK (window_end > window_start)
);

CREATE INDEX window_partials_range ON window_partials (model_version_id, window_start, window_end);

CREATE TABLE ingested_batches (
    model_version_id BIGINT NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    batch_id         TEXT NOT NULL,
    digest           TEXT NOT NULL,
    ingested_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (model_version_id, batch_id)
);

CREATE INDEX ingested_batches_age ON ingested_batches (ingested_at);

CREATE TABLE drift_results (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model_version_id BIGINT NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    window_start     TIMESTAMPTZ NOT NULL,
    window_end       TIMESTAMPTZ NOT NULL,
    feature          TEXT NOT NULL,
    score            DOUBLE PRECISION,
    severity         TEXT NOT NULL CHECK (severity IN ('ok', 'warning', 'critical', 'insufficient_data')),
    baseline_sha256  TEXT NOT NULL REFERENCES baselines (sha256),
    details          JSONB NOT NULL DEFAULT '{}',
    computed_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (model_version_id, feature, window_start, window_end, baseline_sha256)
);

CREATE INDEX drift_results_feature ON drift_results (feature, window_start);

CREATE TABLE alerts (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model_version_id  BIGINT NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    window_start      TIMESTAMPTZ NOT NULL,
    window_end        TIMESTAMPTZ NOT NULL,
    feature           TEXT,
    severity          TEXT NOT NULL CHECK (severity IN ('warning', 'critical')),
    score             DOUBLE PRECISION,
    baseline_sha256   TEXT NOT NULL REFERENCES baselines (sha256),
    state             TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    delivery_attempts INTEGER NOT NULL DEFAULT 0 CHECK (delivery_attempts >= 0),
    last_error        TEXT,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);

CREATE INDEX alerts_by_version ON alerts (model_version_id, created_at);
