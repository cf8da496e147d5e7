-- Substring search over the folded search column through a trigram index
-- (docs/ARCHITECTURE.md, "Dashboard"): a query of three characters or
-- more reads the rows holding its trigrams instead of scanning every
-- subscriber's key. External content: the index keeps no copy of the
-- keys. case_sensitive 1: the column and the query are folded already.
CREATE VIRTUAL TABLE subscribers_search_fts USING fts5 (
    search, content = 'subscribers', content_rowid = 'id', tokenize = 'trigram case_sensitive 1'
);
INSERT INTO subscribers_search_fts (subscribers_search_fts) VALUES ('rebuild');

-- The triggers keep the index in step with the column; a NULL key (not
-- folded yet) is not indexed, and refold fills it before a search.
CREATE TRIGGER subscribers_search_fts_insert AFTER INSERT ON subscribers WHEN NEW.search IS NOT NULL
BEGIN
    INSERT INTO subscribers_search_fts (rowid, search) VALUES (NEW.id, NEW.search);
END;
CREATE TRIGGER subscribers_search_fts_delete AFTER DELETE ON subscribers WHEN OLD.search IS NOT NULL
BEGIN
    INSERT INTO subscribers_search_fts (subscribers_search_fts, rowid, search) VALUES ('delete', OLD.id, OLD.search);
END;
CREATE TRIGGER subscribers_search_fts_update AFTER UPDATE OF search ON subscribers WHEN NEW.search IS NOT OLD.search
BEGIN
    INSERT INTO subscribers_search_fts (subscribers_search_fts, rowid, search) SELECT 'delete', OLD.id, OLD.search WHERE OLD.search IS NOT NULL;
    INSERT INTO subscribers_search_fts (rowid, search) SELECT NEW.id, NEW.search WHERE NEW.search IS NOT NULL;
END;
