-- Audit trail: one row per change of a key, kept after the key is deleted.
-- pos is the event's position, given in commit order from the one row of
-- <table>_event_position, which every change locks (UPDATE) until it
-- commits: a reader never sees a position before a lower one. detail_json
-- holds the old and new values the change touched; never a secret.
CREATE TABLE IF NOT EXISTS `{{table}}_events` (
    pos         BIGINT NOT NULL,
    occurred_at DATETIME(6) NOT NULL,
    owner       VARBINARY(128) NOT NULL,
    key_id      CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    actor_id    VARCHAR(1020) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    actor_name  VARCHAR(1020) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    kind        VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    detail_json TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    PRIMARY KEY (pos),
    KEY `{{table}}_events_owner` (owner, pos),
    KEY `{{table}}_events_key` (key_id, pos),
    KEY `{{table}}_events_at` (occurred_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS `{{table}}_event_position` (
    id  INT NOT NULL,
    pos BIGINT NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB;
INSERT INTO `{{table}}_event_position` (id, pos) VALUES (1, 0) ON DUPLICATE KEY UPDATE id = id;
