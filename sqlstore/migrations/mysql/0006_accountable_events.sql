-- Accountable and tenant-private audit trail; only additions.
-- actor_preview: the preview of the acting administrator's key, beside its
-- name, so that two keys of the same name are told apart.
-- owner_seq: the event's place among its owner's events (1, 2, ...), given
-- under the same locks as pos; what an owner's administrator is paged by,
-- so that nothing shown to them counts other owners' changes. Events from
-- before are numbered in the order of their positions.
-- <table>_event_owner_seq holds each owner's last number.
-- One statement per column and index, so that one found already there (a
-- schema made by hand) hides none of the others.
ALTER TABLE `{{table}}_events` ADD COLUMN actor_preview VARCHAR(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '';
ALTER TABLE `{{table}}_events` ADD COLUMN owner_seq BIGINT NOT NULL DEFAULT 0;
UPDATE `{{table}}_events` AS e JOIN (
    SELECT pos, ROW_NUMBER() OVER (PARTITION BY owner ORDER BY pos) AS seq FROM `{{table}}_events`
) AS n ON e.pos = n.pos SET e.owner_seq = n.seq WHERE e.owner_seq = 0;
CREATE TABLE IF NOT EXISTS `{{table}}_event_owner_seq` (
    owner VARBINARY(128) NOT NULL,
    seq   BIGINT NOT NULL,
    PRIMARY KEY (owner)
) ENGINE=InnoDB;
INSERT INTO `{{table}}_event_owner_seq` (owner, seq)
    SELECT owner, MAX(owner_seq) FROM `{{table}}_events` GROUP BY owner
    ON DUPLICATE KEY UPDATE seq = GREATEST(seq, VALUES(seq));
-- An owner's events, all of them or by kind or by actor, in either
-- direction; a key's, in its owner's order. The actor's index holds the
-- first 600 characters of its ID (InnoDB's 3072-byte limit).
ALTER TABLE `{{table}}_events` ADD UNIQUE KEY `{{table}}_events_owner_seq` (owner, owner_seq);
ALTER TABLE `{{table}}_events` ADD KEY `{{table}}_events_owner_kind` (owner, kind, owner_seq);
ALTER TABLE `{{table}}_events` ADD KEY `{{table}}_events_owner_actor` (owner, actor_id(600), owner_seq);
ALTER TABLE `{{table}}_events` ADD KEY `{{table}}_events_key_seq` (key_id, owner_seq);
