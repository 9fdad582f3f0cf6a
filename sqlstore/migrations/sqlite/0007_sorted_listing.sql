-- Listing in more orders (ListSorted), within one owner, bounded by the
-- page: by name (BINARY collation: byte for byte), by expiry (only keys
-- that expire), and the preview search. The creation orders read the
-- indexes of 0003 forwards or backwards. This migration only adds indexes.
CREATE INDEX IF NOT EXISTS "{{table}}_owner_name" ON "{{table}}" (owner, name, id);
CREATE INDEX IF NOT EXISTS "{{table}}_owner_expires" ON "{{table}}" (owner, expires_at, id) WHERE expires_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS "{{table}}_owner_preview" ON "{{table}}" (owner, preview);
