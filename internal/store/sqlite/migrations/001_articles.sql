-- Articles, their tags, and a generation counter that feed caches poll.
CREATE TABLE articles (
    id               INTEGER PRIMARY KEY,
    slug             TEXT    NOT NULL UNIQUE,
    title            TEXT    NOT NULL,
    summary          TEXT    NOT NULL DEFAULT '',
    body             TEXT    NOT NULL DEFAULT '',
    body_html        TEXT    NOT NULL DEFAULT '',
    author_name      TEXT    NOT NULL DEFAULT '',
    author_email     TEXT    NOT NULL DEFAULT '',
    image_url        TEXT    NOT NULL DEFAULT '',
    image_media_path TEXT    NOT NULL DEFAULT '',
    image_alt        TEXT    NOT NULL DEFAULT '',
    image_width      INTEGER NOT NULL DEFAULT 0,
    image_height     INTEGER NOT NULL DEFAULT 0,
    link             TEXT    NOT NULL DEFAULT '',
    published        INTEGER NOT NULL,            -- unix microseconds, UTC
    updated          INTEGER NOT NULL,
    draft            INTEGER NOT NULL DEFAULT 0,
    removed          INTEGER NOT NULL DEFAULT 0,  -- its source file is gone: unpublished, kept
    source           TEXT    NOT NULL,
    source_path      TEXT    NOT NULL DEFAULT '',
    content_hash     TEXT    NOT NULL DEFAULT '',
    first_seen       INTEGER                      -- NULL until first stored visible
);
-- listed = not draft and not removed; the feed query walks this index newest first.
CREATE INDEX articles_listed ON articles (published DESC, id DESC) WHERE draft = 0 AND removed = 0;
CREATE INDEX articles_source ON articles (source, source_path);

CREATE TABLE tags (
    id   INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);

-- published and listed are copied from articles so a tag feed is one index range scan.
CREATE TABLE article_tags (
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    tag_id     INTEGER NOT NULL REFERENCES tags (id),
    position   INTEGER NOT NULL,
    published  INTEGER NOT NULL,
    listed     INTEGER NOT NULL,
    PRIMARY KEY (article_id, tag_id)
);
CREATE INDEX article_tags_feed ON article_tags (tag_id, listed, published DESC, article_id DESC);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO meta (key, value) VALUES ('articles_generation', 1);

CREATE TRIGGER articles_gen_insert AFTER INSERT ON articles BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'articles_generation';
END;
CREATE TRIGGER articles_gen_update AFTER UPDATE ON articles BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'articles_generation';
END;
CREATE TRIGGER articles_gen_delete AFTER DELETE ON articles BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'articles_generation';
END;
