-- Feeds (docs/ARCHITECTURE.md, "Feeds and caching"): each article's id, fixed when it
-- is first published, and when each feed's content last changed.

-- The article's feed id (an RFC 4151 tag: URI), '' until it is first
-- published; never recomputed, so correcting `date` or moving the site to
-- another domain does not make readers show it twice. One minted before
-- the store's authority is fixed reads "tag:,DATE:/articles/SLUG"; the
-- first start fills in the authority (Store.FixFeedAuthority).
ALTER TABLE articles ADD COLUMN feed_id TEXT NOT NULL DEFAULT '';

-- Articles published before this version keep the id they were served
-- with, whose date was then `published` (UTC). Slugs need no escaping.
UPDATE articles SET feed_id = 'tag:,' || strftime('%Y-%m-%d', published / 1000000, 'unixepoch') || ':/articles/' || slug
 WHERE first_seen IS NOT NULL;

-- Text values fixed once for the life of the store (feed_authority).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- When each feed's content last changed: feed '' is the site feed, else a
-- tag slug. Feeds serve it as Last-Modified and <updated>, so a restart
-- cannot move it back and every instance agrees.
CREATE TABLE feed_changes (
    feed       TEXT    PRIMARY KEY,
    changed_at INTEGER NOT NULL   -- unix µs
) WITHOUT ROWID;

-- Start where feeds stood: the newest `updated` of what each one lists,
-- never in the future. A feed without a row follows its articles' dates.
INSERT INTO feed_changes (feed, changed_at)
SELECT '', min(MAX(updated), CAST(strftime('%s', 'now') AS INTEGER) * 1000000)
  FROM articles WHERE draft = 0 AND removed = 0 AND published <= CAST(strftime('%s', 'now') AS INTEGER) * 1000000
HAVING COUNT(*) > 0;
INSERT INTO feed_changes (feed, changed_at)
SELECT t.slug, min(MAX(a.updated), CAST(strftime('%s', 'now') AS INTEGER) * 1000000)
  FROM tags t JOIN article_tags at ON at.tag_id = t.id JOIN articles a ON a.id = at.article_id
 WHERE at.listed = 1 AND a.published <= CAST(strftime('%s', 'now') AS INTEGER) * 1000000
 GROUP BY t.slug;
