-- A subscriber CSV uploaded in the admin UI, kept between its dry run and
-- the confirmation, so any instance can carry the confirmation out
-- (docs/ARCHITECTURE.md, "Admin subscribers"). Used once; expired rows go
-- when the next upload is kept.
CREATE TABLE import_uploads (
    id         TEXT    PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    confirmed  BOOLEAN NOT NULL DEFAULT false,
    send_optin BOOLEAN NOT NULL DEFAULT false,
    data       BYTEA   NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX import_uploads_user ON import_uploads (user_id);
