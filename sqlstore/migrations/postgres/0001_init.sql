-- Keys: one row per key. groups_json holds the key's groups as a JSON array
-- of strings in the order given, so that a lookup by lookup_id reads one row.
CREATE TABLE IF NOT EXISTS "{{table}}" (
    id           uuid        NOT NULL PRIMARY KEY,
    lookup_id    text        COLLATE "C" NOT NULL,
    name         text        NOT NULL,
    groups_json  text        NOT NULL,
    active       boolean     NOT NULL,
    preview      text        NOT NULL,
    hash         text        NOT NULL,
    created_at   timestamptz NOT NULL,
    created_by   text        NOT NULL,
    updated_at   timestamptz NOT NULL,
    last_used_at timestamptz NULL,
    expires_at   timestamptz NULL,
    CONSTRAINT "{{table}}_lookup_id" UNIQUE (lookup_id)
);

-- Listing in creation order, with and without a status filter.
CREATE INDEX IF NOT EXISTS "{{table}}_created" ON "{{table}}" (created_at, id);
CREATE INDEX IF NOT EXISTS "{{table}}_active" ON "{{table}}" (active, created_at, id);

-- One row per distinct group of a key, for the group filter of List. Kept in
-- sync with groups_json in the same transaction.
CREATE TABLE IF NOT EXISTS "{{table}}_groups" (
    key_id     uuid NOT NULL REFERENCES "{{table}}" (id) ON DELETE CASCADE,
    group_name text COLLATE "C" NOT NULL,
    PRIMARY KEY (key_id, group_name)
);
CREATE INDEX IF NOT EXISTS "{{table}}_group_name" ON "{{table}}_groups" (group_name, key_id);
