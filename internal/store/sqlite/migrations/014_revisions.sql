-- The newsroom (docs/ARCHITECTURE.md, "Newsroom service"): revisions of
-- articles written in Herald, and what the admin article list needs.

-- One saved version each; fields is the newsroom's JSON of the form, kept
-- as it is. AUTOINCREMENT: an id is a version that edits are checked
-- against, so it is never handed out again.
CREATE TABLE article_revisions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,             -- unix µs
    user_id    INTEGER NOT NULL DEFAULT 0,
    who        TEXT    NOT NULL DEFAULT '',
    ip         TEXT    NOT NULL DEFAULT '',
    fields     TEXT    NOT NULL
);
CREATE INDEX article_revisions_article ON article_revisions (article_id, id);

-- The title case-folded by article.SearchFold (filled by Go for older rows).
ALTER TABLE articles ADD COLUMN title_search TEXT NOT NULL DEFAULT '';
-- The admin list walks every article newest first; the filter columns are
-- in the index so a page is found without reading article rows.
CREATE INDEX articles_admin ON articles (published DESC, id DESC, draft, removed, title_search);
-- A tag's articles in every state, newest first.
CREATE INDEX article_tags_admin ON article_tags (tag_id, published DESC, article_id DESC);
