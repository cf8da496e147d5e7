-- The admin dashboard and subscriber search (docs/ARCHITECTURE.md, "Dashboard").

-- search is the subscriber's address and name folded by Go
-- (subscribe.SearchKey: NFC, Unicode lower case), so "Åsa" finds "åsa"
-- on every backend alike; SQLite's lower() folds ASCII only. NULL means
-- "not folded yet": new rows start so, the trigger below resets it when
-- the address or name changes, and a search folds such rows first.
ALTER TABLE subscribers ADD COLUMN search TEXT;
CREATE INDEX subscribers_unfolded ON subscribers (id) WHERE search IS NULL;
-- A substring search scans this narrow covering index, not the table.
CREATE INDEX subscribers_search ON subscribers (status, search);
CREATE TRIGGER subscribers_refold AFTER UPDATE OF email, name ON subscribers
    WHEN NEW.search IS OLD.search AND (NEW.email IS NOT OLD.email OR NEW.name IS NOT OLD.name)
BEGIN
    UPDATE subscribers SET search = NULL WHERE id = NEW.id;
END;

-- The topic filter, and a subscriber's deliveries (their page, erasure).
CREATE INDEX subscriber_tags_tag ON subscriber_tags (tag_slug, subscriber_id);
CREATE INDEX digest_deliveries_subscriber ON digest_deliveries (subscriber_id);
-- Per-run counts by status read this covering index, not the rows.
CREATE INDEX digest_deliveries_run_status ON digest_deliveries (run_id, status);

-- Daily subscriber counts per status: a complete snapshot of the four
-- statuses for each UTC day on which they changed (a day missing means
-- "as the day before"). Back-filled from the subscribers' timestamps when
-- first written, then kept by serve.
CREATE TABLE subscriber_counts (
    day    INTEGER NOT NULL,  -- unix µs of the UTC day's start
    status TEXT    NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (day, status)
);

-- One row per newsletter a subscriber left (unsubscribe link, mailed
-- unsubscribe, complaint, remove), for "unsubscribes after a run". No
-- subscriber is named: the count outlives erasure.
CREATE TABLE unsubscribes (
    id         INTEGER PRIMARY KEY,
    newsletter TEXT    NOT NULL,
    at         INTEGER NOT NULL  -- unix µs
);
CREATE INDEX unsubscribes_newsletter ON unsubscribes (newsletter, at);
