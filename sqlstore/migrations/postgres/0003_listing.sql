-- Listing at scale: every filter combination pages from one index range in
-- creation order. A key's group memberships carry its owner, creation time
-- and status (kept in sync by the store in the same transaction), so that
-- the group filter pages from (group_name, [owner,] [active,] created_at,
-- key_id) instead of joining every member of a large group.
ALTER TABLE "{{table}}_groups" ADD COLUMN IF NOT EXISTS owner text COLLATE "C" NULL;
ALTER TABLE "{{table}}_groups" ADD COLUMN IF NOT EXISTS created_at timestamptz NULL;
ALTER TABLE "{{table}}_groups" ADD COLUMN IF NOT EXISTS active boolean NULL;
UPDATE "{{table}}_groups" AS g SET owner = k.owner, created_at = k.created_at, active = k.active
    FROM "{{table}}" AS k WHERE k.id = g.key_id AND g.owner IS NULL;
ALTER TABLE "{{table}}_groups" ALTER COLUMN owner SET NOT NULL;
ALTER TABLE "{{table}}_groups" ALTER COLUMN created_at SET NOT NULL;
ALTER TABLE "{{table}}_groups" ALTER COLUMN active SET NOT NULL;
DROP INDEX IF EXISTS "{{table}}_group_name";
CREATE INDEX IF NOT EXISTS "{{table}}_group_created" ON "{{table}}_groups" (group_name, created_at, key_id);
CREATE INDEX IF NOT EXISTS "{{table}}_group_active" ON "{{table}}_groups" (group_name, active, created_at, key_id);
CREATE INDEX IF NOT EXISTS "{{table}}_owner_group" ON "{{table}}_groups" (owner, group_name, created_at, key_id);
CREATE INDEX IF NOT EXISTS "{{table}}_owner_group_active" ON "{{table}}_groups" (owner, group_name, active, created_at, key_id);

-- One owner's active or inactive keys in creation order.
CREATE INDEX IF NOT EXISTS "{{table}}_owner_active" ON "{{table}}" (owner, active, created_at, id);
