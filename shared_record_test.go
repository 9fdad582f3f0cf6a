package apikey_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVerifiedRecordIsNeverChanged checks the promise of Verify's doc: the
// record a verification returns may be shared (memstore and the cache hand
// out the record they hold), and nothing the library does afterwards (a
// rename, new groups, a deactivation, metadata, a flush of last-used times,
// a re-hash) changes what an earlier verification was given. Run under
// -race, any write to a shared record, by the Store or the Manager, while
// requests read it is reported.
func TestVerifiedRecordIsNeverChanged(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []apikey.Option
	}{
		{"memstore", nil},
		{"memstore with cache", []apikey.Option{apikey.WithVerifyCache(apikey.VerifyCache{TTL: time.Minute})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := memstore.New()
			m := newManager(t, store, tc.opts...)
			k, plaintext := issue(t, m, "shared", "read", "write")
			ctx := context.Background()

			stop := make(chan struct{})
			var readers sync.WaitGroup
			for range 4 {
				readers.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						got, err := m.Verify(ctx, plaintext)
						if err != nil {
							continue // deactivated for a moment
						}
						snapshot := got.Clone()
						time.Sleep(10 * time.Microsecond) // let the writer change the key
						// Read every field, deeply, as a handler would.
						if !assert.Equal(t, snapshot, got.Clone(), "a verified record changed under its request") {
							return
						}
					}
				})
			}
			for i := range 200 {
				require.NoError(t, m.Rename(ctx, k.ID, []string{"renamed", "shared"}[i%2]))
				require.NoError(t, m.SetGroups(ctx, k.ID, [][]string{{"read"}, {"read", "write"}}[i%2]))
				if i%10 == 0 {
					require.NoError(t, m.Deactivate(ctx, k.ID))
					require.NoError(t, m.Activate(ctx, k.ID))
				}
				require.NoError(t, m.Flush(ctx))
			}
			close(stop)
			readers.Wait()
		})
	}
}
