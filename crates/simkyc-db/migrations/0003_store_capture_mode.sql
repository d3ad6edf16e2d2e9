-- A store may override its operator's capture mode (e.g. `active` at counters with a camera
-- stand, `passive` at a kiosk); NULL follows the operator.
ALTER TABLE stores ADD COLUMN capture_mode TEXT;
