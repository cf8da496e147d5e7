-- A subscriber CSV uploaded in the admin UI, kept between its dry run and
-- the confirmation, so any instance can carry the confirmation out
-- (docs/ARCHITECTURE.md, "Admin subscribers"). Used once; expired rows go
-- when the next upload is kept.
CREATE TABLE import_uploads (
    id         TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    confirmed  INTEGER NOT NULL DEFAULT 0,
    send_optin INTEGER NOT NULL DEFAULT 0,
    data       BLOB    NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX import_uploads_user ON import_uploads (user_id);
