package sqlstore

import (
	"database/sql"
	"time"
)

// DefaultPoolSize is the number of connections [ConfigurePool] allows when
// given a size below 1: enough for a service of a few dozen concurrent
// requests, since a verification holds a connection for one short SELECT.
const DefaultPoolSize = 16

// ConfigurePool sets db's connection pool for a service that verifies keys
// concurrently: at most size open connections (DefaultPoolSize if size is
// below 1), all of which may stay idle, each replaced after 30 minutes and
// closed after 5 minutes unused. See "Connection pool" in the package
// documentation for why each setting matters. Call it once, before use.
func ConfigurePool(db *sql.DB, size int) {
	if size < 1 {
		size = DefaultPoolSize
	}
	db.SetMaxOpenConns(size)
	db.SetMaxIdleConns(size)
	db.SetConnMaxLifetime(30 * time.Minute)
	db.SetConnMaxIdleTime(5 * time.Minute)
}
