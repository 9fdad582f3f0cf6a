-- Listing in more orders (ListSorted), within one owner: by expiry (only
-- keys that expire) and the preview search, bounded by the page. The name
-- order has no index here: a name is up to 1020 characters of utf8mb4,
-- beyond InnoDB's 3072-byte key, and a prefix index cannot give the order;
-- MySQL sorts the owner's keys (its cost grows with them). The creation
-- orders read the indexes of 0003 forwards or backwards. This migration
-- only adds indexes.
ALTER TABLE `{{table}}`
    ADD KEY `{{table}}_owner_expires` (owner, expires_at, id),
    ADD KEY `{{table}}_owner_preview` (owner, preview(64));
