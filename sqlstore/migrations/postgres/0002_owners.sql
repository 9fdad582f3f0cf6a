-- Tenancy: every key has an owner, set when it is issued and never changed.
-- Keys from before get the owner 'default' (apikey.DefaultOwner); new rows
-- always name theirs, so the column keeps no default.
ALTER TABLE "{{table}}" ADD COLUMN IF NOT EXISTS owner text COLLATE "C" NOT NULL DEFAULT 'default';
ALTER TABLE "{{table}}" ALTER COLUMN owner DROP DEFAULT;

-- The application's own data about a key: a JSON object, NULL for none.
ALTER TABLE "{{table}}" ADD COLUMN IF NOT EXISTS metadata_json text NULL;

-- One owner's keys in creation order: its list is one index range.
CREATE INDEX IF NOT EXISTS "{{table}}_owner_created" ON "{{table}}" (owner, created_at, id);

-- One row per owner that has had a quota checked: Create locks it, so that
-- concurrent creates of one owner count its keys one after another.
CREATE TABLE IF NOT EXISTS "{{table}}_owners" (
    owner text COLLATE "C" NOT NULL PRIMARY KEY
);
