package admin_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/sqlstore"
)

// usageDown is the SQL store whose usage cannot be read.
type usageDown struct{ *sqlstore.Store }

func (usageDown) ReadUsage(context.Context, apikey.UsageFilter) ([]apikey.UsageRow, error) {
	return nil, errors.New("connection refused")
}

func (usageDown) BusiestKeys(context.Context, apikey.UsageFilter, int) ([]apikey.KeyUsage, error) {
	return nil, errors.New("connection refused")
}

// A usage route whose Store fails answers 503, not an empty report.
func TestUsageRoutesFailClosed(t *testing.T) {
	e := newEnv(t, func(s apikey.Store) apikey.Store { return usageDown{s.(*sqlstore.Store)} })
	k, _ := e.create("CI deploy", "reports:read")
	for _, path := range []string{keyPath(k, "/usage"), "/admin/api/usage"} {
		r := e.do(req{method: "GET", path: path, key: e.root})
		r.problem(t, http.StatusServiceUnavailable, "unavailable")
	}
}
