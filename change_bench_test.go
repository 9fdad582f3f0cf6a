package apikey_test

import (
	"context"
	"testing"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
)

// BenchmarkRename measures one change through the Manager on memstore by
// an administrator: authorization, the change (one clock read), its event.
// BenchmarkIssue in bench_test.go is the baseline of a change that
// hashes.
func BenchmarkRename(b *testing.B) {
	m, err := apikey.New(memstore.New(), apikey.WithLastUsedFlushInterval(-1))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	k, _, err := m.Issue(context.Background(), apikey.IssueRequest{Name: "k", Groups: []string{"g"}, CreatedBy: "ops"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := apikey.NewActorContext(context.Background(), apikey.Actor{ID: "admin-1", Name: "Administrator", Preview: "ak_Admi…x7Ab", Groups: []string{"g"}})
	names := [2]string{"a", "b"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := m.Rename(ctx, k.ID, names[i%2]); err != nil {
			b.Fatal(err)
		}
	}
}
