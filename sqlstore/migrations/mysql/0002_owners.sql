-- Tenancy: every key has an owner, set when it is issued and never changed.
-- Keys from before get the owner 'default' (apikey.DefaultOwner). VARBINARY
-- compares owners byte for byte. One statement per column and index, so
-- that one found already there (a schema made by hand) hides none of the
-- others.
ALTER TABLE `{{table}}` ADD COLUMN owner VARBINARY(128) NOT NULL DEFAULT 'default';

-- The application's own data about a key: a JSON object, NULL for none.
ALTER TABLE `{{table}}` ADD COLUMN metadata_json TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL;

-- One owner's keys in creation order: its list is one index range.
ALTER TABLE `{{table}}` ADD KEY `{{table}}_owner_created` (owner, created_at, id);

-- One row per owner that has had a quota checked: Create locks it, so that
-- concurrent creates of one owner count its keys one after another.
CREATE TABLE IF NOT EXISTS `{{table}}_owners` (
    owner VARBINARY(128) NOT NULL PRIMARY KEY
) ENGINE=InnoDB;
