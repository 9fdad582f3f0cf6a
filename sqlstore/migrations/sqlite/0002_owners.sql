-- Tenancy: every key has an owner, set when it is issued and never changed.
-- Keys from before get the owner 'default' (apikey.DefaultOwner).
ALTER TABLE "{{table}}" ADD COLUMN owner TEXT NOT NULL DEFAULT 'default';

-- The application's own data about a key: a JSON object, NULL for none.
ALTER TABLE "{{table}}" ADD COLUMN metadata_json TEXT NULL;

-- One owner's keys in creation order: its list is one index range.
CREATE INDEX IF NOT EXISTS "{{table}}_owner_created" ON "{{table}}" (owner, created_at, id);

-- One row per owner that has had a quota checked: Create locks it (with a
-- write), so that concurrent creates of one owner count one after another.
CREATE TABLE IF NOT EXISTS "{{table}}_owners" (
    owner TEXT NOT NULL PRIMARY KEY
) STRICT;
