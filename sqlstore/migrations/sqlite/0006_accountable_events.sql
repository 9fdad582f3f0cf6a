-- Accountable and tenant-private audit trail; only additions.
-- actor_preview: the preview of the acting administrator's key, beside its
-- name, so that two keys of the same name are told apart.
-- owner_seq: the event's place among its owner's events (1, 2, ...), given
-- in the same transaction as pos; what an owner's administrator is paged
-- by, so that nothing shown to them counts other owners' changes. Events
-- from before are numbered in the order of their positions.
-- <table>_event_owner_seq holds each owner's last number.
ALTER TABLE "{{table}}_events" ADD COLUMN actor_preview TEXT NOT NULL DEFAULT '';
ALTER TABLE "{{table}}_events" ADD COLUMN owner_seq INTEGER NOT NULL DEFAULT 0;
UPDATE "{{table}}_events" SET owner_seq = (
    SELECT COUNT(*) FROM "{{table}}_events" AS p
    WHERE p.owner = "{{table}}_events".owner AND p.pos <= "{{table}}_events".pos
) WHERE owner_seq = 0;
CREATE TABLE IF NOT EXISTS "{{table}}_event_owner_seq" (
    owner TEXT    NOT NULL PRIMARY KEY,
    seq   INTEGER NOT NULL
) STRICT;
INSERT OR IGNORE INTO "{{table}}_event_owner_seq" (owner, seq)
    SELECT owner, MAX(owner_seq) FROM "{{table}}_events" GROUP BY owner;
-- An owner's events, all of them or by kind or by actor, in either
-- direction; a key's, in its owner's order.
CREATE UNIQUE INDEX IF NOT EXISTS "{{table}}_events_owner_seq" ON "{{table}}_events" (owner, owner_seq);
CREATE INDEX IF NOT EXISTS "{{table}}_events_owner_kind" ON "{{table}}_events" (owner, kind, owner_seq);
CREATE INDEX IF NOT EXISTS "{{table}}_events_owner_actor" ON "{{table}}_events" (owner, actor_id, owner_seq);
CREATE INDEX IF NOT EXISTS "{{table}}_events_key_seq" ON "{{table}}_events" (key_id, owner_seq);
