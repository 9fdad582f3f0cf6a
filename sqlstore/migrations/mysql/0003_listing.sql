-- Listing at scale: every filter combination pages from one index range in
-- creation order. A key's group memberships carry its owner, creation time
-- and status (kept in sync by the store in the same transaction), so that
-- the group filter pages from (group_name, [owner,] [active,] created_at,
-- key_id) instead of joining every member of a large group.
ALTER TABLE `{{table}}_groups`
    ADD COLUMN owner VARBINARY(128) NULL,
    ADD COLUMN created_at DATETIME(6) NULL,
    ADD COLUMN active BOOLEAN NULL;
UPDATE `{{table}}_groups` AS g JOIN `{{table}}` AS k ON k.id = g.key_id
    SET g.owner = k.owner, g.created_at = k.created_at, g.active = k.active WHERE g.owner IS NULL;
ALTER TABLE `{{table}}_groups`
    MODIFY owner VARBINARY(128) NOT NULL,
    MODIFY created_at DATETIME(6) NOT NULL,
    MODIFY active BOOLEAN NOT NULL,
    DROP KEY `{{table}}_group_name`,
    ADD KEY `{{table}}_group_created` (group_name, created_at, key_id),
    ADD KEY `{{table}}_group_active` (group_name, active, created_at, key_id),
    ADD KEY `{{table}}_owner_group` (owner, group_name, created_at, key_id),
    ADD KEY `{{table}}_owner_group_active` (owner, group_name, active, created_at, key_id);

-- One owner's active or inactive keys in creation order.
ALTER TABLE `{{table}}` ADD KEY `{{table}}_owner_active` (owner, active, created_at, id);
