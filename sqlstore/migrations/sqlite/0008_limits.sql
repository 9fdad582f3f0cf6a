-- Usage limits: a key's own limits (rate limits and credit policy) as JSON
-- in limits_json, read with the key; credit balances in <table>_credits,
-- one row per balance: account is "k/<key id>" for a key's balance and
-- "o/<owner>" for an owner's. A request spends with one conditional UPDATE
-- of its row; remaining never goes below zero.
ALTER TABLE "{{table}}" ADD COLUMN limits_json TEXT NULL;
CREATE TABLE IF NOT EXISTS "{{table}}_credits" (
    account     TEXT    NOT NULL PRIMARY KEY,
    remaining   INTEGER NOT NULL CHECK (remaining >= 0),
    refilled_at INTEGER NULL
) STRICT;
