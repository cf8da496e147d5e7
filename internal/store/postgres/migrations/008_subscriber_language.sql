-- Each subscriber's language for pages and mails (docs/ARCHITECTURE.md,
-- "Languages"); '' means the newsletter's language.
ALTER TABLE subscribers ADD COLUMN language TEXT NOT NULL DEFAULT '';
