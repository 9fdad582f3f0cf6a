-- Listing at scale: every filter combination pages from one index range in
-- creation order. A key's group memberships carry its owner, creation time
-- and status (kept in sync by the store in the same transaction), so that
-- the group filter pages from (group_name, [owner,] [active,] created_at,
-- key_id) instead of joining every member of a large group. SQLite cannot
-- add NOT NULL columns without a default: the defaults are never used, the
-- UPDATE below and the store fill every row.
ALTER TABLE "{{table}}_groups" ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE "{{table}}_groups" ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "{{table}}_groups" ADD COLUMN active INTEGER NOT NULL DEFAULT 0;
UPDATE "{{table}}_groups" SET
    owner = (SELECT k.owner FROM "{{table}}" AS k WHERE k.id = "{{table}}_groups".key_id),
    created_at = (SELECT k.created_at FROM "{{table}}" AS k WHERE k.id = "{{table}}_groups".key_id),
    active = (SELECT k.active FROM "{{table}}" AS k WHERE k.id = "{{table}}_groups".key_id);
DROP INDEX IF EXISTS "{{table}}_group_name";
CREATE INDEX IF NOT EXISTS "{{table}}_group_created" ON "{{table}}_groups" (group_name, created_at, key_id);
CREATE INDEX IF NOT EXISTS "{{table}}_group_active" ON "{{table}}_groups" (group_name, active, created_at, key_id);
CREATE INDEX IF NOT EXISTS "{{table}}_owner_group" ON "{{table}}_groups" (owner, group_name, created_at, key_id);
CREATE INDEX IF NOT EXISTS "{{table}}_owner_group_active" ON "{{table}}_groups" (owner, group_name, active, created_at, key_id);

-- One owner's active or inactive keys in creation order.
CREATE INDEX IF NOT EXISTS "{{table}}_owner_active" ON "{{table}}" (owner, active, created_at, id);
