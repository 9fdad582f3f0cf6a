package apikey_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tenants is a Manager with keys of two owners and an administrator of each.
type tenants struct {
	m          *apikey.Manager
	adminA     context.Context // acts for org-a, holds every group
	adminB     context.Context // acts for org-b, holds every group
	keyA, keyB *apikey.Key
}

func newTenants(t *testing.T, opts ...apikey.Option) *tenants {
	t.Helper()
	m := newManager(t, memstore.New(), opts...)
	all := []string{"reports:read", "billing:write"}
	tt := &tenants{
		m:      m,
		adminA: apikey.NewActorContext(context.Background(), apikey.Actor{Name: "alice", Groups: all, Owner: "org-a"}),
		adminB: apikey.NewActorContext(context.Background(), apikey.Actor{Name: "bob", Groups: all, Owner: "org-b"}),
	}
	var err error
	tt.keyA, _, err = m.Issue(tt.adminA, apikey.IssueRequest{Name: "a's key", Groups: []string{"reports:read"}})
	require.NoError(t, err)
	tt.keyB, _, err = m.Issue(tt.adminB, apikey.IssueRequest{Name: "b's key", Groups: []string{"reports:read"}})
	require.NoError(t, err)
	return tt
}

func TestIssueTakesTheActorsOwner(t *testing.T) {
	tt := newTenants(t)
	assert.Equal(t, "org-a", tt.keyA.Owner)
	assert.Equal(t, "org-b", tt.keyB.Owner)

	_, _, err := tt.m.Issue(tt.adminA, apikey.IssueRequest{Name: "x", Groups: []string{"reports:read"}, Owner: "org-b"})
	assert.ErrorIs(t, err, apikey.ErrEscalation, "an administrator issues keys only to their own owner")
	k, _, err := tt.m.Issue(tt.adminA, apikey.IssueRequest{Name: "x", Groups: []string{"reports:read"}, Owner: "org-a"})
	require.NoError(t, err)
	assert.Equal(t, "org-a", k.Owner)

	// Trusted code names any owner, and DefaultOwner by default.
	k, _, err = tt.m.Issue(context.Background(), apikey.IssueRequest{Name: "x", Groups: []string{"g"}, CreatedBy: "ops", Owner: "org-c"})
	require.NoError(t, err)
	assert.Equal(t, "org-c", k.Owner)
	k, _, err = tt.m.Issue(context.Background(), apikey.IssueRequest{Name: "x", Groups: []string{"g"}, CreatedBy: "ops"})
	require.NoError(t, err)
	assert.Equal(t, apikey.DefaultOwner, k.Owner)

	// An actor without an owner acts for DefaultOwner, never for all.
	noOwner := apikey.NewActorContext(context.Background(), apikey.Actor{Name: "carol", Groups: []string{"reports:read"}})
	_, err = tt.m.Get(noOwner, tt.keyA.ID)
	assert.ErrorIs(t, err, apikey.ErrNotFound)
	page, err := tt.m.List(noOwner, apikey.ListOptions{})
	require.NoError(t, err)
	for _, k := range page.Keys {
		assert.Equal(t, apikey.DefaultOwner, k.Owner)
	}
}

// TestAnotherOwnersKeyDoesNotExist: every operation of org-a's
// administrator on org-b's key is ErrNotFound, exactly as for a key that
// does not exist, and leaves the key as it was.
func TestAnotherOwnersKeyDoesNotExist(t *testing.T) {
	tt := newTenants(t)
	id := tt.keyB.ID
	for name, op := range map[string]func(ctx context.Context) error{
		"Get":        func(ctx context.Context) error { _, err := tt.m.Get(ctx, id); return err },
		"Rename":     func(ctx context.Context) error { return tt.m.Rename(ctx, id, "taken") },
		"SetGroups":  func(ctx context.Context) error { return tt.m.SetGroups(ctx, id, []string{"billing:write"}) },
		"Activate":   func(ctx context.Context) error { return tt.m.Activate(ctx, id) },
		"Deactivate": func(ctx context.Context) error { return tt.m.Deactivate(ctx, id) },
		"Delete":     func(ctx context.Context) error { return tt.m.Delete(ctx, id) },
	} {
		err := op(tt.adminA)
		assert.ErrorIs(t, err, apikey.ErrNotFound, name)
		assert.False(t, errors.Is(err, apikey.ErrEscalation), "%s: never forbidden, which would tell the key exists", name)
	}
	got, err := tt.m.Get(tt.adminB, id)
	require.NoError(t, err)
	assert.Equal(t, "b's key", got.Name)
	assert.Equal(t, []string{"reports:read"}, got.Groups)
	assert.True(t, got.Active)

	page, err := tt.m.List(tt.adminA, apikey.ListOptions{})
	require.NoError(t, err)
	require.Len(t, page.Keys, 1)
	assert.Equal(t, tt.keyA.ID, page.Keys[0].ID)
	page, err = tt.m.List(tt.adminA, apikey.ListOptions{Owner: "org-b"})
	require.NoError(t, err)
	assert.Empty(t, page.Keys, "asking for another owner's list gives nothing")

	// The operator scope sees and changes every owner's keys.
	operator := apikey.NewActorContext(context.Background(), apikey.Actor{Name: "ops", Groups: []string{"reports:read"}, AllOwners: true})
	page, err = tt.m.List(operator, apikey.ListOptions{})
	require.NoError(t, err)
	assert.Len(t, page.Keys, 2)
	require.NoError(t, tt.m.Rename(operator, id, "renamed by ops"))
}

// TestOwnerIsolationUnderConcurrency races org-a's administrator, trying to
// change org-b's key, against org-b's own changes.
func TestOwnerIsolationUnderConcurrency(t *testing.T) {
	tt := newTenants(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 20 {
				assert.ErrorIs(t, tt.m.Deactivate(tt.adminA, tt.keyB.ID), apikey.ErrNotFound)
				assert.ErrorIs(t, tt.m.Rename(tt.adminA, tt.keyB.ID, "intruder"), apikey.ErrNotFound)
			}
		})
		wg.Go(func() {
			for j := range 20 {
				assert.NoError(t, tt.m.Rename(tt.adminB, tt.keyB.ID, fmt.Sprintf("b %d %d", i, j)))
			}
		})
	}
	wg.Wait()
	got, err := tt.m.Get(tt.adminB, tt.keyB.ID)
	require.NoError(t, err)
	assert.True(t, got.Active)
	assert.True(t, strings.HasPrefix(got.Name, "b "), got.Name)
}

func TestOwnerQuota(t *testing.T) {
	tt := newTenants(t, apikey.WithOwnerQuota(3))
	for range 2 {
		_, _, err := tt.m.Issue(tt.adminA, apikey.IssueRequest{Name: "more", Groups: []string{"reports:read"}})
		require.NoError(t, err)
	}
	_, _, err := tt.m.Issue(tt.adminA, apikey.IssueRequest{Name: "one too many", Groups: []string{"reports:read"}})
	assert.ErrorIs(t, err, apikey.ErrQuotaExceeded)
	_, _, err = tt.m.Issue(tt.adminB, apikey.IssueRequest{Name: "b's second", Groups: []string{"reports:read"}})
	assert.NoError(t, err, "the quota is per owner")

	var created atomic.Int64
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			_, _, err := tt.m.Issue(tt.adminB, apikey.IssueRequest{Name: "race", Groups: []string{"reports:read"}})
			if err == nil {
				created.Add(1)
			} else {
				assert.ErrorIs(t, err, apikey.ErrQuotaExceeded)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(1), created.Load(), "b had 2 of 3")

	// Negative turns the limit off (the one rule of options): no limit.
	unlimited := newManager(t, memstore.New(), apikey.WithOwnerQuota(-1))
	for range 3 {
		_, _, err := unlimited.Issue(t.Context(), apikey.IssueRequest{Name: "k", Groups: []string{"read"}, CreatedBy: "t", Owner: "c"})
		require.NoError(t, err)
	}
}

func TestValidateOwner(t *testing.T) {
	for _, good := range []string{"default", "org_42", "0191c0de-7e57-7000-8000-000000000000", "alice@example.com", "team:eu.west-1", strings.Repeat("a", 128)} {
		assert.NoError(t, apikey.ValidateOwner(good), good)
	}
	for _, bad := range []string{"", " org", "org 42", "org/42", "ORG\x00", "orgé", "org\n", strings.Repeat("a", 129), "a%b", "a*"} {
		assert.ErrorIs(t, apikey.ValidateOwner(bad), apikey.ErrInvalidOwner, "%q", bad)
	}
	m := newManager(t, memstore.New())
	_, _, err := m.Issue(context.Background(), apikey.IssueRequest{Name: "x", Groups: []string{"g"}, CreatedBy: "ops", Owner: "org 42"})
	assert.ErrorIs(t, err, apikey.ErrInvalidOwner)
	_, err = m.List(context.Background(), apikey.ListOptions{Owner: "org%"})
	assert.ErrorIs(t, err, apikey.ErrInvalidOwner)
}

func TestValidateMetadata(t *testing.T) {
	assert.NoError(t, apikey.ValidateMetadata(nil))
	assert.NoError(t, apikey.ValidateMetadata(map[string]string{"plan": "pro", "customer.id": "cus_42", "note": "héllo <b>"}))
	many := map[string]string{}
	for i := range 17 {
		many[fmt.Sprintf("k%d", i)] = "v"
	}
	big := map[string]string{"a": strings.Repeat("x", apikey.MaxMetadataBytes)}
	for name, bad := range map[string]map[string]string{
		"too many":    many,
		"too big":     big,
		"empty key":   {"": "v"},
		"long key":    {strings.Repeat("k", 65): "v"},
		"key space":   {"a b": "v"},
		"control":     {"a": "line\nbreak"},
		"bidi":        {"a": "abc\u202edcb"},
		"invalid utf": {"a": "\xff"},
	} {
		err := apikey.ValidateMetadata(bad)
		assert.ErrorIs(t, err, apikey.ErrInvalidMetadata, name)
		if err != nil {
			assert.NotContains(t, err.Error(), "xxxx", "%s: the error never quotes a value", name)
		}
	}
	m := newManager(t, memstore.New())
	md := map[string]string{"plan": "pro"}
	k, _, err := m.Issue(context.Background(), apikey.IssueRequest{Name: "x", Groups: []string{"g"}, CreatedBy: "ops", Metadata: md})
	require.NoError(t, err)
	md["plan"] = "changed"
	got, err := m.Get(context.Background(), k.ID)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"plan": "pro"}, got.Metadata, "the Manager keeps a copy")
	_, _, err = m.Issue(context.Background(), apikey.IssueRequest{Name: "x", Groups: []string{"g"}, CreatedBy: "ops", Metadata: big})
	assert.ErrorIs(t, err, apikey.ErrInvalidMetadata)
}

// TestMetadataIsNeverLogged: the slog and fmt forms of a key leave its
// metadata out.
func TestMetadataIsNeverLogged(t *testing.T) {
	k := &apikey.Key{Name: "x", Owner: "org-a", Metadata: map[string]string{"secretish": "s3cr3t-value"}}
	for _, s := range []string{fmt.Sprint(*k), fmt.Sprintf("%+v", *k), fmt.Sprintf("%#v", *k), k.LogValue().String()} {
		assert.NotContains(t, s, "s3cr3t-value")
	}
	assert.Contains(t, k.LogValue().String(), "org-a")
}

// TestForeignAndMissingKeysLookAlike: for an administrator, another owner's
// key and a key that exists nowhere give the same error, text included.
func TestForeignAndMissingKeysLookAlike(t *testing.T) {
	tt := newTenants(t)
	missing := uuid.Must(uuid.NewV7())
	for name, op := range map[string]func(ctx context.Context, id uuid.UUID) error{
		"Get":    func(ctx context.Context, id uuid.UUID) error { _, err := tt.m.Get(ctx, id); return err },
		"Rename": func(ctx context.Context, id uuid.UUID) error { return tt.m.Rename(ctx, id, "x") },
		"SetGroups": func(ctx context.Context, id uuid.UUID) error {
			return tt.m.SetGroups(ctx, id, []string{"reports:read"})
		},
		"Activate":   func(ctx context.Context, id uuid.UUID) error { return tt.m.Activate(ctx, id) },
		"Deactivate": func(ctx context.Context, id uuid.UUID) error { return tt.m.Deactivate(ctx, id) },
		"Delete":     func(ctx context.Context, id uuid.UUID) error { return tt.m.Delete(ctx, id) },
	} {
		foreign := op(tt.adminA, tt.keyB.ID)
		absent := op(tt.adminA, missing)
		require.ErrorIs(t, foreign, apikey.ErrNotFound, name)
		require.ErrorIs(t, absent, apikey.ErrNotFound, name)
		assert.Equal(t, strings.ReplaceAll(absent.Error(), missing.String(), "ID"),
			strings.ReplaceAll(foreign.Error(), tt.keyB.ID.String(), "ID"), name)
	}
}

// TestCountIsOwnerScoped: an administrator counts only their owner's keys.
func TestCountIsOwnerScoped(t *testing.T) {
	tt := newTenants(t)
	for range 3 {
		_, _, err := tt.m.Issue(tt.adminB, apikey.IssueRequest{Name: "b", Groups: []string{"reports:read"}})
		require.NoError(t, err)
	}
	n, err := tt.m.Count(tt.adminA, apikey.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	n, err = tt.m.Count(tt.adminA, apikey.ListOptions{Owner: "org-b"})
	require.NoError(t, err)
	assert.Equal(t, 0, n, "another owner's count is nothing")
	n, err = tt.m.Count(tt.adminB, apikey.ListOptions{Group: "reports:read"})
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	n, err = tt.m.Count(context.Background(), apikey.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, 5, n, "trusted code counts every owner")
}
