-- One vocabulary: the operator's check mode is its `capture_mode` (as the stores' override and
-- the registrations already call it), and what a client was asked to capture is the
-- registration's `capture_requirements` (it holds the mode, nonce, frame counts, expiry and
-- the challenge's actions, not only the challenge).
ALTER TABLE operators RENAME COLUMN liveness_mode TO capture_mode;
ALTER TABLE registrations RENAME COLUMN challenge TO capture_requirements;
