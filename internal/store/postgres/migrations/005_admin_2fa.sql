-- Two-factor sign-in for the admin web UI (docs/ARCHITECTURE.md,
-- "Admin UI"): a TOTP secret per user, the last time step used (a code
-- is never accepted twice), one-time recovery codes kept as SHA-256, and
-- sessions that have passed the password but not yet the code.

ALTER TABLE users ADD COLUMN totp_secret TEXT NOT NULL DEFAULT '';     -- base32; '' = no second factor
ALTER TABLE users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;

ALTER TABLE sessions ADD COLUMN pending BOOLEAN NOT NULL DEFAULT false; -- waits for the code

CREATE TABLE recovery_codes (
    user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT   NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);
