// Package redislimit is a Redis backend for the rate limits of package
// apikey: an [apikey.Limiter] exact across any number of instances.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	m, err := apikey.New(store, apikey.WithLimiter(redislimit.New(rdb, redislimit.Config{})))
//
// # How it counts
//
// Every check is one round trip: one Lua script (EVALSHA) that reads all
// the counters of the request, decides with GCRA, and writes them only if
// every one allows the request, all or nothing, atomically (Redis runs a
// script alone). The script reads the time with Redis's own TIME, so
// instances whose clocks disagree still count alike. A counter is one
// string key (its theoretical arrival time, in microseconds) that expires
// when the counter is full again: an idle key costs no memory.
//
// # Credits: the Store is the source of truth
//
// Credit balances are never kept in Redis: the Manager spends them on the
// Store with one conditional statement per request (see
// [apikey.LimitStore]). So a Redis that dies mid-load overspends nothing,
// and after it restarts every balance is what the Store says, with no
// sync at all. The all-or-nothing rule between rate limits and credits
// holds by compensation: when the credits refuse a request that the rate
// limits allowed, the Manager gives the rate limits back (Give).
//
// # When Redis fails
//
// A check that fails (Redis unreachable, timed out) returns an error: the
// Manager refuses the request with 503, or counts in process if the
// application chose [apikey.WithLimiterFallback]. Rate-limit counters are
// as durable as the Redis they live in: after a restart without
// persistence each counter starts full again, so a client may send one
// more burst.
//
// # Redis Cluster
//
// The counters of one request must live in one slot: with Redis Cluster,
// set a Prefix with a hash tag, such as "{apikey}:", which puts every
// counter in one slot (and so on one primary).
package redislimit
