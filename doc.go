// Package apikey issues and verifies API keys, and manages them the way an
// admin panel's "API Keys" tab does: each key has a name, one or more
// permission groups, a status, a creation date, a last-used date and the
// administrator who created it.
//
// # Keys
//
// A key looks like "ak_3Fq9Lw0ZpQ2mY7c1Hn8Rt5VkXe4sBa6DgJo2Iu9WyN3Clx7Ab": a prefix, then
// a lookup ID, a secret of at least 160 bits and a CRC-32C checksum, in base62.
// [Manager.Issue] returns the plaintext exactly once; the Store keeps only a
// hash and a preview such as "ak_3Fq9…x7Ab".
//
// # Verifying
//
// [Manager.Verify] refuses malformed strings before touching the Store, finds
// the key by its lookup ID in one indexed lookup, compares hashes in constant
// time, and checks status and expiry. [Authenticator] does this for every HTTP
// request and enforces group scopes.
//
// # Stores
//
// A [Store] keeps the records: package memstore in memory, package sqlstore
// in PostgreSQL, MySQL/MariaDB or SQLite. Package storetest checks that a
// Store honours the contract.
//
// # Listing
//
// [Manager.List] pages through keys in one of the orders of [ListSort]
// (oldest first by default; newest first, by name, by expiry), filtered by
// owner, status, group, name, preview and [ListOptions.ExpiringBefore].
// StatusActive lists the keys that work now ([Key.Works]); [Key.State]
// says why a key does not. Every order but the oldest first, and the
// filters a plain Store need not honour, need a [SortedLister]: without
// one, List returns an error wrapping errors.ErrUnsupported rather than an
// unfiltered list. [Page.Next] is opaque and valid only in its order.
//
// # Security model
//
// Only hashes are stored; plaintext keys are never logged or put in errors;
// comparisons are constant time; a Store failure is never mistaken for an
// invalid key (callers fail closed); an administrator acting through
// [NewActorContext] can grant only groups they hold.
package apikey
