-- Uploaded images (docs/ARCHITECTURE.md, "Media"): one row per upload,
-- keyed by the content hash of its stored original, and its files in the
-- store so every instance serves them. Times are unix µs.

CREATE TABLE media (
    hash       TEXT   PRIMARY KEY,           -- hex, 32 characters
    name       TEXT   NOT NULL DEFAULT '',   -- the uploaded file's name
    created_at BIGINT NOT NULL,
    created_by TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX media_created ON media (created_at);

-- variant 0 is the original; a derivative's variant is its width.
CREATE TABLE media_files (
    hash         TEXT   NOT NULL REFERENCES media (hash) ON DELETE CASCADE,
    variant      BIGINT NOT NULL,
    width        BIGINT NOT NULL,
    height       BIGINT NOT NULL,
    content_type TEXT   NOT NULL,
    size         BIGINT NOT NULL,
    data         BYTEA  NOT NULL,
    PRIMARY KEY (hash, variant)
);
