-- herald: foreign_keys off
-- A run whose composition or rendering failed is 'failed' (its articles go
-- with the next run; docs/ARCHITECTURE.md, digest runs), and says why in
-- failure. SQLite cannot
-- change a CHECK constraint in place, so digest_runs is rebuilt by SQLite's
-- documented procedure: with foreign keys off (the directive above) a new
-- table is filled, the old one dropped and the new one renamed, so the
-- rows of digest_run_articles, newsletter_articles and digest_variants
-- keep referencing the same ids under the same name; the runner commits
-- only if PRAGMA foreign_key_check then finds nothing.
CREATE TABLE digest_runs_007 (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused (migration 005)
    newsletter    TEXT    NOT NULL,
    slot          TEXT    NOT NULL,
    slot_at       INTEGER NOT NULL,  -- unix µs
    kind          TEXT    NOT NULL CHECK (kind IN ('scheduled', 'manual', 'test')),
    status        TEXT    NOT NULL
                  CHECK (status IN ('planned', 'sending', 'paused', 'cancelled', 'done', 'skipped', 'failed')),
    subject       TEXT    NOT NULL DEFAULT '',
    articles      INTEGER NOT NULL DEFAULT 0,
    recipients    INTEGER NOT NULL DEFAULT 0,  -- deliveries planned
    created_at    INTEGER NOT NULL,
    started_at    INTEGER,
    finished_at   INTEGER,
    pruned_at     INTEGER,
    sent_count    INTEGER NOT NULL DEFAULT 0,
    failed_count  INTEGER NOT NULL DEFAULT 0,
    skipped_count INTEGER NOT NULL DEFAULT 0,
    failure       TEXT    NOT NULL DEFAULT '',  -- why a failed run failed
    UNIQUE (newsletter, slot)
);
INSERT INTO digest_runs_007 (id, newsletter, slot, slot_at, kind, status, subject, articles, recipients, created_at,
        started_at, finished_at, pruned_at, sent_count, failed_count, skipped_count)
    SELECT id, newsletter, slot, slot_at, kind, status, subject, articles, recipients, created_at,
        started_at, finished_at, pruned_at, sent_count, failed_count, skipped_count FROM digest_runs;
-- Keep the id sequence of 005: an id handed out once (even of a run since
-- deleted, or raised by restore) is never handed out again.
UPDATE sqlite_sequence SET seq = MAX(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'digest_runs'), 0))
    WHERE name = 'digest_runs_007';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'digest_runs_007', seq FROM sqlite_sequence WHERE name = 'digest_runs'
    AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'digest_runs_007');
DROP TABLE digest_runs;
ALTER TABLE digest_runs_007 RENAME TO digest_runs;
CREATE INDEX digest_runs_active ON digest_runs (status) WHERE status IN ('planned', 'sending');
CREATE INDEX digest_runs_archive ON digest_runs (newsletter, slot_at DESC);
