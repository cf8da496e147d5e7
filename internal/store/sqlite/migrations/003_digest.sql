-- Digests (docs/ARCHITECTURE.md, "Digest runs"): per-newsletter state,
-- runs, the articles each run carried, rendered variants, and one
-- delivery row per recipient.

-- What a newsletter remembers between runs. A row exists once it has run.
CREATE TABLE newsletter_state (
    newsletter   TEXT    PRIMARY KEY,
    horizon      INTEGER NOT NULL,  -- unix µs: first run's slot − first_window; fixed
    first_run_at INTEGER NOT NULL,  -- unix µs: the first run's slot
    last_slot    TEXT    NOT NULL DEFAULT '',  -- key of the latest scheduled slot planned
    last_slot_at INTEGER            -- its instant (unix µs); NULL: only manual runs so far
);

-- One run per (newsletter, slot). slot is the wall-clock time in the
-- newsletter's zone ("2026-12-01T09:00"), so a daylight-saving repeat of
-- 02:30 is one slot; manual and test runs get keys of their own.
CREATE TABLE digest_runs (
    id          INTEGER PRIMARY KEY,
    newsletter  TEXT    NOT NULL,
    slot        TEXT    NOT NULL,
    slot_at     INTEGER NOT NULL,  -- unix µs
    kind        TEXT    NOT NULL CHECK (kind IN ('scheduled', 'manual', 'test')),
    status      TEXT    NOT NULL
                CHECK (status IN ('planned', 'sending', 'paused', 'cancelled', 'done', 'skipped')),
    subject     TEXT    NOT NULL DEFAULT '',
    articles    INTEGER NOT NULL DEFAULT 0,
    recipients  INTEGER NOT NULL DEFAULT 0,  -- deliveries planned
    created_at  INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER,
    UNIQUE (newsletter, slot)
);
CREATE INDEX digest_runs_active ON digest_runs (status) WHERE status IN ('planned', 'sending');
CREATE INDEX digest_runs_archive ON digest_runs (newsletter, slot_at DESC);

-- The articles a run carries, in the order it shows them.
CREATE TABLE digest_run_articles (
    run_id     INTEGER NOT NULL REFERENCES digest_runs (id) ON DELETE CASCADE,
    article_id INTEGER NOT NULL,
    position   INTEGER NOT NULL,
    PRIMARY KEY (run_id, article_id)
) WITHOUT ROWID;

-- Articles that have gone out in a newsletter: each goes out once.
CREATE TABLE newsletter_articles (
    newsletter TEXT    NOT NULL,
    article_id INTEGER NOT NULL,
    run_id     INTEGER NOT NULL REFERENCES digest_runs (id) ON DELETE CASCADE,
    PRIMARY KEY (newsletter, article_id)
) WITHOUT ROWID;

-- Rendered variants: "web" (the archive page), "all" (every article) and
-- one per topic selection ("a:12,15"), each composed once per run.
CREATE TABLE digest_variants (
    run_id  INTEGER NOT NULL REFERENCES digest_runs (id) ON DELETE CASCADE,
    key     TEXT    NOT NULL,
    subject TEXT    NOT NULL,
    html    TEXT    NOT NULL,
    text    TEXT    NOT NULL,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;

-- One row per recipient of a run. pending → sending (leased) → sent |
-- failed | skipped; an expired lease returns the row to pending.
-- subscriber_id has no foreign key: erasing a subscriber keeps the counts.
CREATE TABLE digest_deliveries (
    run_id        INTEGER NOT NULL,
    subscriber_id INTEGER NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt  INTEGER NOT NULL DEFAULT 0,  -- unix µs; pending rows are due from then
    lease_until   INTEGER NOT NULL DEFAULT 0,  -- unix µs; sending rows are held until then
    reply         TEXT    NOT NULL DEFAULT '', -- last SMTP reply or reason
    message_id    TEXT    NOT NULL DEFAULT '',
    sent_at       INTEGER,
    PRIMARY KEY (run_id, subscriber_id)
) WITHOUT ROWID;
-- Workers claim from these two small partial indexes: pending rows by due
-- time, and leased rows by expiry (crash recovery).
CREATE INDEX digest_deliveries_due ON digest_deliveries (run_id, next_attempt, subscriber_id) WHERE status = 'pending';
CREATE INDEX digest_deliveries_leased ON digest_deliveries (run_id, lease_until) WHERE status = 'sending';
