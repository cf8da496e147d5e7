-- Ids are never reused, and links are bound to the row they were made for
-- (docs/ARCHITECTURE.md, "Subscriber links and ids"):
--   * subscribers and digest_runs become AUTOINCREMENT, so an erased or
--     deleted id is never handed out again (restore raises the sequences);
--   * every subscriber gets link_secret, a random value every new token's
--     MAC covers: it dies with the row, so no other row can take a link;
--   * rows that exist now keep accepting the old-format links they were
--     mailed (legacy_links), up to the id high-water mark kept in meta.
--
-- SQLite cannot add AUTOINCREMENT in place, so both tables are rebuilt.
-- Foreign keys are on and cannot be switched off inside this migration's
-- transaction, and dropping a parent would cascade into its children. So:
-- the old parent is renamed (the children's references follow it), new
-- parent and children are created under the real names and filled, and the
-- old tables are dropped children first, when nothing references them.

-- Subscribers, their newsletters and tags.
ALTER TABLE subscribers RENAME TO subscribers_v4;
ALTER TABLE subscriptions RENAME TO subscriptions_v4;
ALTER TABLE subscriber_tags RENAME TO subscriber_tags_v4;
DROP INDEX subscribers_status;
DROP INDEX subscribers_pending;
DROP INDEX subscriptions_subscriber;

CREATE TABLE subscribers (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    email           TEXT    NOT NULL COLLATE NOCASE UNIQUE, -- normalised: local part as typed, lowercase punycode domain; unique ignoring case
    name            TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'active', 'unsubscribed', 'bounced')),
    created_at      INTEGER NOT NULL,                 -- unix microseconds, UTC
    confirmed_at    INTEGER,
    unsubscribed_at INTEGER,
    consent_at      INTEGER,
    consent_ip      TEXT    NOT NULL DEFAULT '',      -- empty unless subscribe.store_ip
    consent_source  TEXT    NOT NULL DEFAULT '',      -- form URL or page, "import:FILE", "cli", "api"
    consent_text    TEXT    NOT NULL DEFAULT '',
    confirm_sent_at INTEGER,                          -- last confirmation mail: resend_interval guard
    hard_failures   INTEGER NOT NULL DEFAULT 0,
    soft_failures   INTEGER NOT NULL DEFAULT 0,
    pending_choice  TEXT,                             -- JSON subscribe.Choice: a re-subscription awaiting confirmation
    updated_at      INTEGER NOT NULL,
    link_secret     BLOB    NOT NULL DEFAULT (randomblob(16)), -- in every link's MAC: links die with the row
    legacy_links    INTEGER NOT NULL DEFAULT 0        -- 1: existed before bound links; its old-format links still verify
);
INSERT INTO subscribers (id, email, name, status, created_at, confirmed_at, unsubscribed_at, consent_at, consent_ip,
    consent_source, consent_text, confirm_sent_at, hard_failures, soft_failures, pending_choice, updated_at, legacy_links)
SELECT id, email, name, status, created_at, confirmed_at, unsubscribed_at, consent_at, consent_ip,
    consent_source, consent_text, confirm_sent_at, hard_failures, soft_failures, pending_choice, updated_at, 1
FROM subscribers_v4 ORDER BY id;

CREATE TABLE subscriptions (
    newsletter    TEXT    NOT NULL,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (newsletter, subscriber_id)
);
INSERT INTO subscriptions (newsletter, subscriber_id, created_at)
SELECT newsletter, subscriber_id, created_at FROM subscriptions_v4 WHERE subscriber_id IN (SELECT id FROM subscribers);

CREATE TABLE subscriber_tags (
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    tag_slug      TEXT    NOT NULL,
    PRIMARY KEY (subscriber_id, tag_slug)
);
INSERT INTO subscriber_tags (subscriber_id, tag_slug)
SELECT subscriber_id, tag_slug FROM subscriber_tags_v4 WHERE subscriber_id IN (SELECT id FROM subscribers);

DROP TABLE subscriptions_v4;
DROP TABLE subscriber_tags_v4;
DROP TABLE subscribers_v4;
CREATE INDEX subscribers_status ON subscribers (status, id);
CREATE INDEX subscribers_pending ON subscribers (confirm_sent_at) WHERE status = 'pending';
CREATE INDEX subscriptions_subscriber ON subscriptions (subscriber_id);

-- Old-format links verify only for ids up to here (and rows marked legacy).
INSERT INTO meta (key, value) VALUES ('subscribers_legacy_max_id', (SELECT COALESCE(MAX(id), 0) FROM subscribers))
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;

-- The next id is above every id ever seen: erased people's ids live on
-- in their delivery rows.
INSERT INTO sqlite_sequence (name, seq) SELECT 'subscribers', 0
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'subscribers');
UPDATE sqlite_sequence SET seq = MAX(seq, (SELECT COALESCE(MAX(subscriber_id), 0) FROM digest_deliveries))
    WHERE name = 'subscribers';

-- Digest runs and what hangs off them.
ALTER TABLE digest_runs RENAME TO digest_runs_v4;
ALTER TABLE digest_run_articles RENAME TO digest_run_articles_v4;
ALTER TABLE newsletter_articles RENAME TO newsletter_articles_v4;
ALTER TABLE digest_variants RENAME TO digest_variants_v4;
DROP INDEX digest_runs_active;
DROP INDEX digest_runs_archive;

CREATE TABLE digest_runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    newsletter    TEXT    NOT NULL,
    slot          TEXT    NOT NULL,
    slot_at       INTEGER NOT NULL,  -- unix µs
    kind          TEXT    NOT NULL CHECK (kind IN ('scheduled', 'manual', 'test')),
    status        TEXT    NOT NULL
                  CHECK (status IN ('planned', 'sending', 'paused', 'cancelled', 'done', 'skipped')),
    subject       TEXT    NOT NULL DEFAULT '',
    articles      INTEGER NOT NULL DEFAULT 0,
    recipients    INTEGER NOT NULL DEFAULT 0,  -- deliveries planned
    created_at    INTEGER NOT NULL,
    started_at    INTEGER,
    finished_at   INTEGER,
    pruned_at     INTEGER,
    -- Counts of delivery rows no longer stored (retention, erasure); the
    -- rows still stored are counted on top.
    sent_count    INTEGER NOT NULL DEFAULT 0,
    failed_count  INTEGER NOT NULL DEFAULT 0,
    skipped_count INTEGER NOT NULL DEFAULT 0,
    UNIQUE (newsletter, slot)
);
INSERT INTO digest_runs (id, newsletter, slot, slot_at, kind, status, subject, articles, recipients, created_at,
    started_at, finished_at, pruned_at, sent_count, failed_count, skipped_count)
SELECT id, newsletter, slot, slot_at, kind, status, subject, articles, recipients, created_at,
    started_at, finished_at, pruned_at, sent_count, failed_count, skipped_count
FROM digest_runs_v4 ORDER BY id;

CREATE TABLE digest_run_articles (
    run_id     INTEGER NOT NULL REFERENCES digest_runs (id) ON DELETE CASCADE,
    article_id INTEGER NOT NULL,
    position   INTEGER NOT NULL,
    PRIMARY KEY (run_id, article_id)
) WITHOUT ROWID;
INSERT INTO digest_run_articles (run_id, article_id, position)
SELECT run_id, article_id, position FROM digest_run_articles_v4 WHERE run_id IN (SELECT id FROM digest_runs);

CREATE TABLE newsletter_articles (
    newsletter TEXT    NOT NULL,
    article_id INTEGER NOT NULL,
    run_id     INTEGER NOT NULL REFERENCES digest_runs (id) ON DELETE CASCADE,
    PRIMARY KEY (newsletter, article_id)
) WITHOUT ROWID;
INSERT INTO newsletter_articles (newsletter, article_id, run_id)
SELECT newsletter, article_id, run_id FROM newsletter_articles_v4 WHERE run_id IN (SELECT id FROM digest_runs);

CREATE TABLE digest_variants (
    run_id  INTEGER NOT NULL REFERENCES digest_runs (id) ON DELETE CASCADE,
    key     TEXT    NOT NULL,
    subject TEXT    NOT NULL,
    html    TEXT    NOT NULL,
    text    TEXT    NOT NULL,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
INSERT INTO digest_variants (run_id, key, subject, html, text)
SELECT run_id, key, subject, html, text FROM digest_variants_v4 WHERE run_id IN (SELECT id FROM digest_runs);

DROP TABLE digest_run_articles_v4;
DROP TABLE newsletter_articles_v4;
DROP TABLE digest_variants_v4;
DROP TABLE digest_runs_v4;
CREATE INDEX digest_runs_active ON digest_runs (status) WHERE status IN ('planned', 'sending');
CREATE INDEX digest_runs_archive ON digest_runs (newsletter, slot_at DESC);

INSERT INTO sqlite_sequence (name, seq) SELECT 'digest_runs', 0
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'digest_runs');
UPDATE sqlite_sequence SET seq = MAX(seq, (SELECT COALESCE(MAX(run_id), 0) FROM digest_deliveries))
    WHERE name = 'digest_runs';

-- Delivery rows of people erased before this migration are personal data
-- that outlived them: fold them into their runs' counts (open ones as
-- skipped) and delete them, as erase now does.
UPDATE digest_runs SET
    sent_count = sent_count + (SELECT COUNT(*) FROM digest_deliveries d
        WHERE d.run_id = digest_runs.id AND d.status = 'sent' AND d.subscriber_id NOT IN (SELECT id FROM subscribers)),
    failed_count = failed_count + (SELECT COUNT(*) FROM digest_deliveries d
        WHERE d.run_id = digest_runs.id AND d.status = 'failed' AND d.subscriber_id NOT IN (SELECT id FROM subscribers)),
    skipped_count = skipped_count + (SELECT COUNT(*) FROM digest_deliveries d
        WHERE d.run_id = digest_runs.id AND d.status IN ('skipped', 'pending', 'sending') AND d.subscriber_id NOT IN (SELECT id FROM subscribers))
WHERE id IN (SELECT run_id FROM digest_deliveries WHERE subscriber_id NOT IN (SELECT id FROM subscribers));
DELETE FROM digest_deliveries WHERE subscriber_id NOT IN (SELECT id FROM subscribers);
