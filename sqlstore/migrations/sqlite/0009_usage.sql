-- Usage metering: one row per key, hour and outcome, holding the number of
-- uses, with the key's owner for the owner's totals. hour is the start of
-- the hour in INTEGER microseconds since the Unix epoch (UTC), as every
-- time. Rows outlive their key until PruneUsage deletes them. The primary
-- key serves a key's range of hours; <table>_usage_owner an owner's;
-- <table>_usage_hour the prune. Flushes add to count (an upsert); each
-- flush's batch ID goes into <table>_usage_batches in the same transaction,
-- so that a retried batch is applied once.
CREATE TABLE IF NOT EXISTS "{{table}}_usage" (
    key_id  TEXT    NOT NULL,
    hour    INTEGER NOT NULL,
    outcome TEXT    NOT NULL,
    owner   TEXT    NOT NULL,
    count   INTEGER NOT NULL,
    PRIMARY KEY (key_id, hour, outcome)
) STRICT;
CREATE INDEX IF NOT EXISTS "{{table}}_usage_owner" ON "{{table}}_usage" (owner, hour);
CREATE INDEX IF NOT EXISTS "{{table}}_usage_hour" ON "{{table}}_usage" (hour);
CREATE TABLE IF NOT EXISTS "{{table}}_usage_batches" (
    id         TEXT    NOT NULL PRIMARY KEY,
    applied_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS "{{table}}_usage_batches_at" ON "{{table}}_usage_batches" (applied_at);
