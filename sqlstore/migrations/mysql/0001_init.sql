-- Keys: one row per key. groups_json holds the key's groups as a JSON array
-- of strings in the order given, so that a lookup by lookup_id reads one row.
-- lookup_id is VARBINARY so that it is compared byte for byte (utf8mb4_bin
-- would ignore trailing spaces). Times are UTC.
CREATE TABLE IF NOT EXISTS `{{table}}` (
    id           CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    lookup_id    VARBINARY(255) NOT NULL,
    name         VARCHAR(1020) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    groups_json  TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    active       BOOLEAN NOT NULL,
    preview      VARCHAR(1020) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    hash         TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    created_at   DATETIME(6) NOT NULL,
    created_by   VARCHAR(1020) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    updated_at   DATETIME(6) NOT NULL,
    last_used_at DATETIME(6) NULL,
    expires_at   DATETIME(6) NULL,
    PRIMARY KEY (id),
    UNIQUE KEY `{{table}}_lookup_id` (lookup_id),
    KEY `{{table}}_created` (created_at, id),
    KEY `{{table}}_active` (active, created_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per distinct group of a key, for the group filter of List. Kept in
-- sync with groups_json in the same transaction.
CREATE TABLE IF NOT EXISTS `{{table}}_groups` (
    key_id     CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    group_name VARBINARY(255) NOT NULL,
    PRIMARY KEY (key_id, group_name),
    KEY `{{table}}_group_name` (group_name, key_id),
    CONSTRAINT `{{table}}_groups_key` FOREIGN KEY (key_id) REFERENCES `{{table}}` (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
