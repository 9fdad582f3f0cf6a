-- Key lifecycle: a rolled key knows its successor (rolled_to), when it was
-- rolled (rolled_at) and when its grace period ends (grace_ends_at); the
-- successor knows its predecessor (rolled_from). Pruning finds the keys
-- that stopped working from the indexes on expires_at and grace_ends_at.
-- One statement per column and index, so that one found already there (a
-- schema made by hand) hides none of the others.
ALTER TABLE `{{table}}` ADD COLUMN rolled_from CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL;
ALTER TABLE `{{table}}` ADD COLUMN rolled_to CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL;
ALTER TABLE `{{table}}` ADD COLUMN rolled_at DATETIME(6) NULL;
ALTER TABLE `{{table}}` ADD COLUMN grace_ends_at DATETIME(6) NULL;
ALTER TABLE `{{table}}` ADD KEY `{{table}}_expires` (expires_at);
ALTER TABLE `{{table}}` ADD KEY `{{table}}_grace_ends` (grace_ends_at);
