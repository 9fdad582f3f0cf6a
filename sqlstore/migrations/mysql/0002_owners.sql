-- Tenancy: every key has an owner, set when it is issued and never changed.
-- Keys from before get the owner 'default' (apikey.DefaultOwner). VARBINARY
-- compares owners byte for byte. metadata_json holds the application's own
-- data about a key as a JSON object, NULL for none.
ALTER TABLE `{{table}}`
    ADD COLUMN owner VARBINARY(128) NOT NULL DEFAULT 'default',
    ADD COLUMN metadata_json TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    ADD KEY `{{table}}_owner_created` (owner, created_at, id);

-- One row per owner that has had a quota checked: Create locks it, so that
-- concurrent creates of one owner count its keys one after another.
CREATE TABLE IF NOT EXISTS `{{table}}_owners` (
    owner VARBINARY(128) NOT NULL PRIMARY KEY
) ENGINE=InnoDB;
