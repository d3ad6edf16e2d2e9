-- Failed liveness checks per API key (device), for the lockout: kept in the database so it holds
-- across restarts and across several servers sharing one PostgreSQL.
CREATE TABLE liveness_failures (
    key_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX liveness_failures_key_at ON liveness_failures (key_id, at_ms);
