-- Usage metering: one row per key, hour (UTC) and outcome, holding the
-- number of uses, with the key's owner for the owner's totals. Rows outlive
-- their key until PruneUsage deletes them. The primary key serves a key's
-- range of hours; <table>_usage_owner an owner's; <table>_usage_hour the
-- prune. Flushes add to count (an upsert); each flush's batch ID goes into
-- <table>_usage_batches in the same transaction, so that a retried batch is
-- applied once.
CREATE TABLE IF NOT EXISTS `{{table}}_usage` (
    key_id  CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    hour    DATETIME(6) NOT NULL,
    outcome VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    owner   VARBINARY(128) NOT NULL,
    count   BIGINT NOT NULL,
    PRIMARY KEY (key_id, hour, outcome),
    KEY `{{table}}_usage_owner` (owner, hour),
    KEY `{{table}}_usage_hour` (hour)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS `{{table}}_usage_batches` (
    id         CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    applied_at DATETIME(6) NOT NULL,
    PRIMARY KEY (id),
    KEY `{{table}}_usage_batches_at` (applied_at)
) ENGINE=InnoDB;
