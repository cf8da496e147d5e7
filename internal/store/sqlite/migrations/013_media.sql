-- Uploaded images (docs/ARCHITECTURE.md, "Media"): one row per upload,
-- keyed by the content hash of its stored original, and its files in the
-- store so every instance serves them. Times are unix µs.

CREATE TABLE media (
    hash       TEXT    PRIMARY KEY,           -- hex, 32 characters
    name       TEXT    NOT NULL DEFAULT '',   -- the uploaded file's name
    created_at INTEGER NOT NULL,
    created_by TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX media_created ON media (created_at);

-- variant 0 is the original; a derivative's variant is its width. The
-- bytes come last so listing reads no overflow pages.
CREATE TABLE media_files (
    hash         TEXT    NOT NULL REFERENCES media (hash) ON DELETE CASCADE,
    variant      INTEGER NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    content_type TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    data         BLOB    NOT NULL,
    PRIMARY KEY (hash, variant)
);
