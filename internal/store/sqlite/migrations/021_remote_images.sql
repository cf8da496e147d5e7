-- Remote article images (docs/ARCHITECTURE.md, "Remote images"): each
-- source URL is fetched once and kept in the media store; a failed fetch
-- is retried later. Times are unix µs; 0 is "none".
CREATE TABLE remote_images (
    url          TEXT    PRIMARY KEY,
    kept         TEXT    NOT NULL DEFAULT '', -- JSON of article.Kept; '' until fetched
    attempts     INTEGER NOT NULL DEFAULT 0,  -- failed fetches since the last success
    last_error   TEXT    NOT NULL DEFAULT '',
    next_attempt INTEGER NOT NULL DEFAULT 0,
    fetched_at   INTEGER NOT NULL DEFAULT 0
);

-- The kept copy an article shows, copied from remote_images (JSON; '' none).
ALTER TABLE articles ADD COLUMN image_kept TEXT NOT NULL DEFAULT '';
CREATE INDEX articles_image_pending ON articles (image_url) WHERE image_url <> '' AND image_kept = '';
