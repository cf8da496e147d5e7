-- Subscribers, what they receive, and their consent
-- (docs/ARCHITECTURE.md, "Subscribers").
CREATE TABLE subscribers (
    id              INTEGER PRIMARY KEY,
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
    updated_at      INTEGER NOT NULL
);
CREATE INDEX subscribers_status ON subscribers (status, id);
-- The cleanup of unconfirmed subscribers walks this.
CREATE INDEX subscribers_pending ON subscribers (confirm_sent_at) WHERE status = 'pending';

-- Which newsletters a subscriber receives.
CREATE TABLE subscriptions (
    newsletter    TEXT    NOT NULL,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (newsletter, subscriber_id)
);
CREATE INDEX subscriptions_subscriber ON subscriptions (subscriber_id);

-- Topic tags (slugs): a subscriber with any gets only matching articles.
CREATE TABLE subscriber_tags (
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    tag_slug      TEXT    NOT NULL,
    PRIMARY KEY (subscriber_id, tag_slug)
);

-- Counts kept after `erase` deletes a subscriber's personal data.
CREATE TABLE erasures (
    id        INTEGER PRIMARY KEY,
    erased_at INTEGER NOT NULL,
    status    TEXT    NOT NULL
);

-- Secrets the store keeps when config gives none (token signing key).
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
