-- Every delivery attempt of an alert, per sink (slack, webhook, email, retrain), and an index for the
-- cooldown check that lets one worker of many raise an alert (see DriftOps.claim_alert).
CREATE TABLE alert_deliveries (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id     BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    sink         TEXT NOT NULL,
    ok           BOOLEAN NOT NULL,
    error        TEXT,
    attempted_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX alert_deliveries_by_alert ON alert_deliveries (alert_id, id);
CREATE INDEX alerts_by_key ON alerts (model_version_id, feature, severity, created_at);
