-- What several instances on one store must agree on (docs/ARCHITECTURE.md,
-- "Leases and slots"): which instance pinged WebSub hubs for a feed's
-- current bytes, subscribe rate-limit counts, and named leases.

-- The ETag of each feed's bytes last announced to WebSub hubs: the
-- instance whose upsert changes it pings, the others do not.
CREATE TABLE websub_pings (
    feed_url  TEXT   PRIMARY KEY,
    etag      TEXT   NOT NULL,
    pinged_at BIGINT NOT NULL   -- unix µs
);

-- Requests per client key (an IP, an IPv6 /64) per one-minute window.
CREATE TABLE rate_hits (
    key          TEXT   NOT NULL,
    window_start BIGINT NOT NULL, -- unix µs
    count        BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_hits_window ON rate_hits (window_start);

-- A lease held by one instance until it expires or is released (the
-- content folder sync).
CREATE TABLE leases (
    name   TEXT   PRIMARY KEY,
    holder TEXT   NOT NULL,
    until  BIGINT NOT NULL   -- unix µs
);
