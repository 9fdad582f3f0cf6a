package apikey_test

import (
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLastUsedFlushInterval(t *testing.T) {
	for _, c := range []struct {
		opt  time.Duration
		want time.Duration
	}{{0, 30 * time.Second}, {time.Minute, time.Minute}, {-1, 0}} {
		m, err := apikey.New(memstore.New(), apikey.WithLastUsedFlushInterval(c.opt))
		require.NoError(t, err)
		assert.Equal(t, c.want, m.LastUsedFlushInterval(), "WithLastUsedFlushInterval(%v)", c.opt)
		require.NoError(t, m.Close())
	}
}
