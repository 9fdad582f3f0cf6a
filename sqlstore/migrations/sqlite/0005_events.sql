-- Audit trail: one row per change of a key, kept after the key is deleted.
-- pos is the event's position, given in commit order from the one row of
-- <table>_event_position, updated by every change in its transaction
-- (SQLite serializes writers). detail_json holds the old and new values
-- the change touched; never a secret.
CREATE TABLE IF NOT EXISTS "{{table}}_events" (
    pos         INTEGER NOT NULL PRIMARY KEY,
    occurred_at INTEGER NOT NULL,
    owner       TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    actor_name  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    detail_json TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS "{{table}}_events_owner" ON "{{table}}_events" (owner, pos);
CREATE INDEX IF NOT EXISTS "{{table}}_events_key" ON "{{table}}_events" (key_id, pos);
CREATE INDEX IF NOT EXISTS "{{table}}_events_at" ON "{{table}}_events" (occurred_at);
CREATE TABLE IF NOT EXISTS "{{table}}_event_position" (
    id  INTEGER NOT NULL PRIMARY KEY,
    pos INTEGER NOT NULL
) STRICT;
INSERT OR IGNORE INTO "{{table}}_event_position" (id, pos) VALUES (1, 0);
