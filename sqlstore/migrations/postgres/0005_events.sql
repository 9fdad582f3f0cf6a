-- Audit trail: one row per change of a key, kept after the key is deleted.
-- pos is the event's position, given in commit order from the one row of
-- <table>_event_position, which every change locks (UPDATE) until it
-- commits: a reader never sees a position before a lower one. detail_json
-- holds the old and new values the change touched; never a secret.
CREATE TABLE IF NOT EXISTS "{{table}}_events" (
    pos         bigint      NOT NULL PRIMARY KEY,
    occurred_at timestamptz NOT NULL,
    owner       text        COLLATE "C" NOT NULL,
    key_id      uuid        NOT NULL,
    actor_id    text        NOT NULL,
    actor_name  text        NOT NULL,
    kind        text        NOT NULL,
    detail_json text        NOT NULL
);
CREATE INDEX IF NOT EXISTS "{{table}}_events_owner" ON "{{table}}_events" (owner, pos);
CREATE INDEX IF NOT EXISTS "{{table}}_events_key" ON "{{table}}_events" (key_id, pos);
CREATE INDEX IF NOT EXISTS "{{table}}_events_at" ON "{{table}}_events" (occurred_at);
CREATE TABLE IF NOT EXISTS "{{table}}_event_position" (
    id  integer NOT NULL PRIMARY KEY,
    pos bigint  NOT NULL
);
INSERT INTO "{{table}}_event_position" (id, pos) VALUES (1, 0) ON CONFLICT DO NOTHING;
