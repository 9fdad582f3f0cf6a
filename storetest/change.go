package storetest

import (
	"time"

	"github.com/apikit/apikey"
)

// opAt returns a change made at when by trusted code, as the Manager
// makes it.
func opAt(when time.Time) apikey.Change {
	return apikey.Change{At: when.UTC().Truncate(time.Microsecond), ActorName: apikey.OperatorName}
}

// creation returns the change that creates k, at its CreatedAt, as the
// Manager makes it.
func creation(k *apikey.Key) apikey.Change { return opAt(k.CreatedAt) }
