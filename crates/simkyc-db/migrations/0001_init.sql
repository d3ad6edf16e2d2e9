-- simkyc schema, written for SQLite; PostgreSQL gets BYTEA for BLOB and BIGINT for INTEGER.
-- Times are UTC milliseconds since 1970. Encrypted columns (*_enc) hold vault envelopes.
CREATE TABLE operators (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    sim_limit INTEGER NOT NULL,
    liveness_mode TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE stores (
    id TEXT PRIMARY KEY,
    operator_id TEXT NOT NULL REFERENCES operators(id),
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    operator_id TEXT NOT NULL REFERENCES operators(id),
    store_id TEXT NOT NULL REFERENCES stores(id),
    label TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE TABLE subscribers (
    id TEXT PRIMARY KEY,
    operator_id TEXT NOT NULL REFERENCES operators(id),
    doc_type TEXT NOT NULL,
    doc_number TEXT NOT NULL,
    active_sims INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    UNIQUE (operator_id, doc_type, doc_number)
);
CREATE TABLE registrations (
    id TEXT PRIMARY KEY,
    operator_id TEXT NOT NULL REFERENCES operators(id),
    store_id TEXT NOT NULL REFERENCES stores(id),
    created_by TEXT NOT NULL,
    doc_type TEXT NOT NULL,
    doc_number TEXT NOT NULL,
    name_enc BLOB NOT NULL,
    doc_expiry TEXT,
    state TEXT NOT NULL,
    decision TEXT,
    reasons TEXT NOT NULL DEFAULT '[]',
    message TEXT NOT NULL DEFAULT '',
    scores TEXT NOT NULL DEFAULT '{}',
    capture_mode TEXT NOT NULL,
    challenge TEXT NOT NULL DEFAULT '{}',
    doc_photo_enc BLOB,
    live_photo_enc BLOB,
    doc_template_enc BLOB,
    live_template_enc BLOB,
    photos_purged_at INTEGER,
    review_comment TEXT,
    reviewed_by TEXT,
    msisdn TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    decided_at INTEGER
);
CREATE INDEX registrations_queue ON registrations (operator_id, state, created_at);
CREATE INDEX registrations_created ON registrations (created_at);
CREATE INDEX registrations_document ON registrations (operator_id, doc_type, doc_number);
CREATE TABLE sims (
    id TEXT PRIMARY KEY,
    msisdn TEXT NOT NULL,
    iccid TEXT NOT NULL,
    imsi TEXT NOT NULL,
    operator_id TEXT NOT NULL REFERENCES operators(id),
    subscriber_id TEXT NOT NULL REFERENCES subscribers(id),
    registration_id TEXT NOT NULL REFERENCES registrations(id),
    status TEXT NOT NULL,
    activated_at INTEGER NOT NULL,
    terminated_at INTEGER
);
CREATE UNIQUE INDEX sims_active_msisdn ON sims (msisdn) WHERE status = 'active';
CREATE UNIQUE INDEX sims_active_iccid ON sims (iccid) WHERE status = 'active';
CREATE UNIQUE INDEX sims_active_imsi ON sims (imsi) WHERE status = 'active';
CREATE INDEX sims_subscriber ON sims (subscriber_id);
CREATE TABLE idempotency (
    key_id TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    body BLOB,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (key_id, idem_key)
);
CREATE TABLE audit_events (
    seq INTEGER PRIMARY KEY,
    operator_id TEXT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_operator ON audit_events (operator_id, seq);
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
