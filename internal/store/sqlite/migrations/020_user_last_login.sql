-- When each admin user last signed in (microseconds; 0: never), shown on
-- the users page (docs/ARCHITECTURE.md, "Admin UI").
ALTER TABLE users ADD COLUMN last_login_at INTEGER NOT NULL DEFAULT 0;
