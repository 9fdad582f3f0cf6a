package mystore_test

import (
	"testing"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/apikit/apikey/storetest"
)

func TestMyStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) apikey.Store { return memstore.New() }) // your store here
}
