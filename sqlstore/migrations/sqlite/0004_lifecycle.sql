-- Key lifecycle: a rolled key knows its successor (rolled_to), when it was
-- rolled (rolled_at) and when its grace period ends (grace_ends_at); the
-- successor knows its predecessor (rolled_from). Pruning finds the keys
-- that stopped working from the indexes on expires_at and grace_ends_at.
ALTER TABLE "{{table}}" ADD COLUMN rolled_from TEXT NULL;
ALTER TABLE "{{table}}" ADD COLUMN rolled_to TEXT NULL;
ALTER TABLE "{{table}}" ADD COLUMN rolled_at INTEGER NULL;
ALTER TABLE "{{table}}" ADD COLUMN grace_ends_at INTEGER NULL;
CREATE INDEX IF NOT EXISTS "{{table}}_expires" ON "{{table}}" (expires_at);
CREATE INDEX IF NOT EXISTS "{{table}}_grace_ends" ON "{{table}}" (grace_ends_at);
