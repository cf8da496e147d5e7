-- Bounces and complaints (docs/ARCHITECTURE.md, "Bounces and complaints").
--
-- A delivery can become 'bounced' after 'sent'. SQLite cannot change a
-- CHECK constraint in place, so digest_deliveries is rebuilt: nothing
-- references it and it references nothing, so a new table is filled, the
-- old one dropped and the new one renamed inside this transaction.
CREATE TABLE digest_deliveries_010 (
    run_id        INTEGER NOT NULL,
    subscriber_id INTEGER NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped', 'bounced')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt  INTEGER NOT NULL DEFAULT 0,  -- unix µs; pending rows are due from then
    lease_until   INTEGER NOT NULL DEFAULT 0,  -- unix µs; sending rows are held until then
    reply         TEXT    NOT NULL DEFAULT '', -- last SMTP reply or reason
    message_id    TEXT    NOT NULL DEFAULT '',
    sent_at       INTEGER,
    PRIMARY KEY (run_id, subscriber_id)
) WITHOUT ROWID;
INSERT INTO digest_deliveries_010 (run_id, subscriber_id, status, attempts, next_attempt, lease_until, reply, message_id, sent_at)
    SELECT run_id, subscriber_id, status, attempts, next_attempt, lease_until, reply, message_id, sent_at FROM digest_deliveries;
DROP TABLE digest_deliveries;
ALTER TABLE digest_deliveries_010 RENAME TO digest_deliveries;
CREATE INDEX digest_deliveries_due ON digest_deliveries (run_id, next_attempt, subscriber_id) WHERE status = 'pending';
CREATE INDEX digest_deliveries_leased ON digest_deliveries (run_id, lease_until) WHERE status = 'sending';
-- A provider's report names the message by its Message-ID.
CREATE INDEX digest_deliveries_message ON digest_deliveries (message_id) WHERE message_id <> '';

-- Every applied bounce, complaint or mailed unsubscribe, by its source's
-- event id: a repeat changes nothing. No address is kept here.
CREATE TABLE bounce_events (
    id            TEXT    PRIMARY KEY,  -- source ":" the source's event id
    kind          TEXT    NOT NULL CHECK (kind IN ('hard', 'soft', 'complaint', 'unsubscribe')),
    run_id        INTEGER,              -- NULL: the run is not known
    subscriber_id INTEGER,              -- NULL: no subscriber matched
    status        TEXT    NOT NULL DEFAULT '',  -- enhanced status code
    created_at    INTEGER NOT NULL      -- unix µs
);
CREATE INDEX bounce_events_run ON bounce_events (run_id, kind) WHERE run_id IS NOT NULL;

-- Inbound mail Herald could not classify, for an operator; never deleted.
CREATE TABLE bounce_kept (
    id         TEXT    PRIMARY KEY,
    reason     TEXT    NOT NULL,
    raw        BLOB    NOT NULL,
    created_at INTEGER NOT NULL
);

-- Addresses never mailed again: a keyed hash (HMAC with the token key) of
-- the normalised address, so the entry outlives erase with no personal
-- data. subscriber_id only helps listing while that subscriber exists.
CREATE TABLE suppressions (
    hash          BLOB    PRIMARY KEY,
    reason        TEXT    NOT NULL CHECK (reason IN ('hard', 'complaint')),
    subscriber_id INTEGER,
    created_at    INTEGER NOT NULL
);
