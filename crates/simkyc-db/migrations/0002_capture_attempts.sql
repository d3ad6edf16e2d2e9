-- Live captures refused for quality (no face, too small, …) may be retried a few times before
-- the registration is decided; this counts them.
ALTER TABLE registrations ADD COLUMN capture_attempts INTEGER NOT NULL DEFAULT 0;
