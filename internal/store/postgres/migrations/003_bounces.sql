-- Bounces and complaints (docs/ARCHITECTURE.md, "Bounces and complaints").

-- A delivery can become 'bounced' after 'sent'.
ALTER TABLE digest_deliveries DROP CONSTRAINT digest_deliveries_status_check;
ALTER TABLE digest_deliveries ADD CONSTRAINT digest_deliveries_status_check
    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped', 'bounced'));
-- A provider's report names the message by its Message-ID.
CREATE INDEX digest_deliveries_message ON digest_deliveries (message_id) WHERE message_id <> '';

-- Every applied bounce, complaint or mailed unsubscribe, by its source's
-- event id: a repeat changes nothing. No address is kept here.
CREATE TABLE bounce_events (
    id            TEXT   PRIMARY KEY,  -- source ":" the source's event id
    kind          TEXT   NOT NULL CHECK (kind IN ('hard', 'soft', 'complaint', 'unsubscribe')),
    run_id        BIGINT,              -- NULL: the run is not known
    subscriber_id BIGINT,              -- NULL: no subscriber matched
    status        TEXT   NOT NULL DEFAULT '',  -- enhanced status code
    created_at    BIGINT NOT NULL      -- unix µs
);
CREATE INDEX bounce_events_run ON bounce_events (run_id, kind) WHERE run_id IS NOT NULL;

-- Inbound mail Herald could not classify, for an operator; never deleted.
CREATE TABLE bounce_kept (
    id         TEXT   PRIMARY KEY,
    reason     TEXT   NOT NULL,
    raw        BYTEA  NOT NULL,
    created_at BIGINT NOT NULL
);

-- Addresses never mailed again: a keyed hash (HMAC with the token key) of
-- the normalised address, so the entry outlives erase with no personal
-- data. subscriber_id only helps listing while that subscriber exists.
CREATE TABLE suppressions (
    hash          BYTEA  PRIMARY KEY,
    reason        TEXT   NOT NULL CHECK (reason IN ('hard', 'complaint')),
    subscriber_id BIGINT,
    created_at    BIGINT NOT NULL
);
