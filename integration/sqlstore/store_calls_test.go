package sqlstore_test

import (
	"time"

	"github.com/apikit/apikey"
)

// opAt returns a change made at when by trusted code, as the Manager
// makes it: tests that call a Store directly give it one.
func opAt(when time.Time) apikey.Change {
	return apikey.Change{At: when.UTC().Truncate(time.Microsecond), ActorName: apikey.OperatorName}
}

// creation returns the change that creates k, at its CreatedAt.
func creation(k *apikey.Key) apikey.Change { return opAt(k.CreatedAt) }
