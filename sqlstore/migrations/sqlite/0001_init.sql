-- Keys: one row per key. groups_json holds the key's groups as a JSON array
-- of strings in the order given, so that a lookup by lookup_id reads one row.
-- Times are INTEGER microseconds since the Unix epoch (UTC).
CREATE TABLE IF NOT EXISTS "{{table}}" (
    id           TEXT    NOT NULL PRIMARY KEY,
    lookup_id    TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    groups_json  TEXT    NOT NULL,
    active       INTEGER NOT NULL,
    preview      TEXT    NOT NULL,
    hash         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    created_by   TEXT    NOT NULL,
    updated_at   INTEGER NOT NULL,
    last_used_at INTEGER NULL,
    expires_at   INTEGER NULL,
    CONSTRAINT "{{table}}_lookup_id" UNIQUE (lookup_id)
) STRICT;

-- Listing in creation order, with and without a status filter.
CREATE INDEX IF NOT EXISTS "{{table}}_created" ON "{{table}}" (created_at, id);
CREATE INDEX IF NOT EXISTS "{{table}}_active" ON "{{table}}" (active, created_at, id);

-- One row per distinct group of a key, for the group filter of List. Kept in
-- sync with groups_json in the same transaction.
CREATE TABLE IF NOT EXISTS "{{table}}_groups" (
    key_id     TEXT NOT NULL REFERENCES "{{table}}" (id) ON DELETE CASCADE,
    group_name TEXT NOT NULL,
    PRIMARY KEY (key_id, group_name)
) STRICT;
CREATE INDEX IF NOT EXISTS "{{table}}_group_name" ON "{{table}}_groups" (group_name, key_id);

-- ON DELETE CASCADE acts only on connections with PRAGMA foreign_keys=ON;
-- the trigger keeps the groups in sync on every connection.
CREATE TRIGGER IF NOT EXISTS "{{table}}_delete_groups" AFTER DELETE ON "{{table}}"
BEGIN DELETE FROM "{{table}}_groups" WHERE key_id = old.id; END;
