-- Confirmation mail guards (see docs/ARCHITECTURE.md, "Subscribers"): a
-- subscribe request waits in confirm_queue until the guards let its
-- confirmation mail go out, so no mail is dropped and the guards hold
-- across processes sharing the store.
CREATE TABLE confirm_queue (
    email     TEXT    NOT NULL COLLATE NOCASE PRIMARY KEY, -- normalised address; the first request wins until confirmed
    choice    TEXT    NOT NULL,                            -- JSON subscribe.Choice
    queued_at INTEGER NOT NULL,                            -- unix microseconds, UTC
    applied   INTEGER NOT NULL DEFAULT 0                   -- 1: recorded in subscribers, the mail waits for a guard
);
CREATE INDEX confirm_queue_order ON confirm_queue (queued_at);

-- Last confirmation mail per mailbox (lowercase, +tag stripped, dots
-- ignored for gmail.com): one per subscribe.resend_interval.
CREATE TABLE confirm_mailboxes (
    mailbox TEXT    NOT NULL PRIMARY KEY,
    sent_at INTEGER NOT NULL
);

-- One row per confirmation mail, for subscribe.domain_per_hour; rows
-- older than an hour are pruned as the queue drains.
CREATE TABLE confirm_domain_sends (
    id      INTEGER PRIMARY KEY,
    domain  TEXT    NOT NULL,
    sent_at INTEGER NOT NULL
);
CREATE INDEX confirm_domain_sends_domain ON confirm_domain_sends (domain, sent_at);
CREATE INDEX confirm_domain_sends_time ON confirm_domain_sends (sent_at); -- the pruning
