-- Accountable and tenant-private audit trail; only additions.
-- actor_preview: the preview of the acting administrator's key, beside its
-- name, so that two keys of the same name are told apart.
-- owner_seq: the event's place among its owner's events (1, 2, ...), given
-- under the same locks as pos; what an owner's administrator is paged by,
-- so that nothing shown to them counts other owners' changes. Events from
-- before are numbered in the order of their positions.
-- <table>_event_owner_seq holds each owner's last number.
ALTER TABLE "{{table}}_events" ADD COLUMN IF NOT EXISTS actor_preview text NOT NULL DEFAULT '';
ALTER TABLE "{{table}}_events" ADD COLUMN IF NOT EXISTS owner_seq bigint NOT NULL DEFAULT 0;
UPDATE "{{table}}_events" AS e SET owner_seq = n.seq
    FROM (SELECT pos, row_number() OVER (PARTITION BY owner ORDER BY pos) AS seq FROM "{{table}}_events") AS n
    WHERE e.pos = n.pos AND e.owner_seq = 0;
CREATE TABLE IF NOT EXISTS "{{table}}_event_owner_seq" (
    owner text   COLLATE "C" NOT NULL PRIMARY KEY,
    seq   bigint NOT NULL
);
INSERT INTO "{{table}}_event_owner_seq" (owner, seq)
    SELECT owner, MAX(owner_seq) FROM "{{table}}_events" GROUP BY owner
    ON CONFLICT DO NOTHING;
-- An owner's events, all of them or by kind or by actor, in either
-- direction; a key's, in its owner's order.
CREATE UNIQUE INDEX IF NOT EXISTS "{{table}}_events_owner_seq" ON "{{table}}_events" (owner, owner_seq);
CREATE INDEX IF NOT EXISTS "{{table}}_events_owner_kind" ON "{{table}}_events" (owner, kind, owner_seq);
CREATE INDEX IF NOT EXISTS "{{table}}_events_owner_actor" ON "{{table}}_events" (owner, actor_id, owner_seq);
CREATE INDEX IF NOT EXISTS "{{table}}_events_key_seq" ON "{{table}}_events" (key_id, owner_seq);
