-- Admin web UI: users, their sessions and the audit log
-- (docs/ARCHITECTURE.md, "HTTP surfaces"). Times are unix µs; 0 is "none".

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    name          TEXT    NOT NULL DEFAULT '',
    role          TEXT    NOT NULL CHECK (role IN ('owner', 'manager', 'editor')),
    password_hash TEXT    NOT NULL DEFAULT '',  -- argon2id, encoded
    created_at    INTEGER NOT NULL,
    setup_hash    TEXT,                         -- SHA-256 hex of the setup token
    setup_expires INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    next_login_at INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX users_setup_hash ON users (setup_hash);

-- The cookie carries a random 256-bit id; only its SHA-256 is stored.
CREATE TABLE sessions (
    id_hash    TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    user_agent TEXT    NOT NULL DEFAULT '',
    ip         TEXT    NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id);

-- Every admin write; user_id and email stay when the user is removed.
CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    user_id INTEGER NOT NULL DEFAULT 0,
    email   TEXT    NOT NULL DEFAULT '',
    action  TEXT    NOT NULL,
    detail  TEXT    NOT NULL DEFAULT '',
    ip      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
