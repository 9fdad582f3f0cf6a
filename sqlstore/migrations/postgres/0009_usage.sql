-- Usage metering: one row per key, hour (UTC) and outcome, holding the
-- number of uses, with the key's owner for the owner's totals. Rows outlive
-- their key until PruneUsage deletes them. The primary key serves a key's
-- range of hours; <table>_usage_owner an owner's; <table>_usage_hour the
-- prune. Flushes add to count (an upsert); each flush's batch ID goes into
-- <table>_usage_batches in the same transaction, so that a retried batch is
-- applied once.
CREATE TABLE IF NOT EXISTS "{{table}}_usage" (
    key_id  uuid        NOT NULL,
    hour    timestamptz NOT NULL,
    outcome text        COLLATE "C" NOT NULL,
    owner   text        COLLATE "C" NOT NULL,
    count   bigint      NOT NULL,
    PRIMARY KEY (key_id, hour, outcome)
);
CREATE INDEX IF NOT EXISTS "{{table}}_usage_owner" ON "{{table}}_usage" (owner, hour);
CREATE INDEX IF NOT EXISTS "{{table}}_usage_hour" ON "{{table}}_usage" (hour);
CREATE TABLE IF NOT EXISTS "{{table}}_usage_batches" (
    id         uuid        NOT NULL PRIMARY KEY,
    applied_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS "{{table}}_usage_batches_at" ON "{{table}}_usage_batches" (applied_at);
