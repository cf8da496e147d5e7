-- Retention (digest.keep_deliveries): old delivery rows are summarised
-- into their run and deleted; pruned_at marks runs whose counts live here.
ALTER TABLE digest_runs ADD COLUMN pruned_at INTEGER;
ALTER TABLE digest_runs ADD COLUMN sent_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE digest_runs ADD COLUMN failed_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE digest_runs ADD COLUMN skipped_count INTEGER NOT NULL DEFAULT 0;
