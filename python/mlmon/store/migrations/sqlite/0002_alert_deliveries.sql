-- Every delivery attempt of an alert, per sink (slack, webhook, email, retrain), and an index for the
-- cooldown check that lets one worker of many raise an alert (see DriftOps.claim_alert).
CREATE TABLE alert_deliveries (
    id           INTEGER PRIMARY KEY,
    alert_id     INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    sink         TEXT NOT NULL,
    ok           INTEGER NOT NULL CHECK (ok IN (0, 1)),
    error        TEXT,
    attempted_at TEXT NOT NULL
);

CREATE INDEX alert_deliveries_by_alert ON alert_deliveries (alert_id, id);
CREATE INDEX alerts_by_key ON alerts (model_version_id, feature, severity, created_at);
