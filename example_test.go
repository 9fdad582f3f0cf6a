package apikey_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
)

// Issue a key, show it once, and verify it on a later request.
func Example() {
	ctx := context.Background()
	m, err := apikey.New(memstore.New(), apikey.WithPrefix("acme"))
	if err != nil {
		panic(err)
	}
	defer m.Close()

	key, plaintext, err := m.Issue(ctx, apikey.IssueRequest{
		Name:      "CI deploy",
		Groups:    []string{"deploy:write", "reports:read"},
		CreatedBy: "alice@example.com",
	})
	if err != nil {
		panic(err)
	}
	// Show plaintext to the administrator once; it is stored nowhere.
	fmt.Println(strings.HasPrefix(plaintext, "acme_"), key.Name, key.Groups, key.Active)

	verified, err := m.Verify(ctx, plaintext)
	fmt.Println(verified.ID == key.ID, err)
	// Output:
	// true CI deploy [deploy:write reports:read] true
	// true <nil>
}

// A deactivated key stops working at once; activating it again restores it.
func ExampleManager_Deactivate() {
	ctx := context.Background()
	m, _ := apikey.New(memstore.New())
	defer m.Close()
	key, plaintext, _ := m.Issue(ctx, apikey.IssueRequest{Name: "partner", Groups: []string{"read"}, CreatedBy: "bob"})

	_ = m.Deactivate(ctx, key.ID)
	_, err := m.Verify(ctx, plaintext)
	fmt.Println(errors.Is(err, apikey.ErrInactive))

	_ = m.Activate(ctx, key.ID)
	_, err = m.Verify(ctx, plaintext)
	fmt.Println(err)
	// Output:
	// true
	// <nil>
}

// The preview is what an admin page shows after creation: the beginning and
// the end of the key. It never works as a key.
func ExampleKey_preview() {
	ctx := context.Background()
	m, _ := apikey.New(memstore.New(), apikey.WithPrefix("acme"))
	defer m.Close()
	key, plaintext, _ := m.Issue(ctx, apikey.IssueRequest{Name: "n", Groups: []string{"read"}, CreatedBy: "bob"})

	fmt.Println(key.Preview == plaintext[:len("acme_")+4]+"…"+plaintext[len(plaintext)-4:])
	fmt.Println(len(key.Preview) < len(plaintext))
	_, err := m.Verify(ctx, key.Preview)
	fmt.Println(errors.Is(err, apikey.ErrInvalidKey))
	// Output:
	// true
	// true
	// true
}

// An administrator acting through NewActorContext cannot grant groups they do not
// hold.
func ExampleNewActorContext() {
	m, _ := apikey.New(memstore.New())
	defer m.Close()
	ctx := apikey.NewActorContext(context.Background(), apikey.Actor{Name: "carol", Groups: []string{"reports:read"}})

	_, _, err := m.Issue(ctx, apikey.IssueRequest{Name: "n", Groups: []string{"billing:write"}})
	fmt.Println(errors.Is(err, apikey.ErrEscalation))

	key, _, err := m.Issue(ctx, apikey.IssueRequest{Name: "n", Groups: []string{"reports:read"}})
	fmt.Println(key.CreatedBy, err)
	// Output:
	// true
	// carol <nil>
}

// ParseKey checks the format and checksum of a string without any store
// call, so a typo is told apart from a revoked key.
func ExampleParseKey() {
	_, err := apikey.ParseKey("acme_not-a-key")
	fmt.Println(errors.Is(err, apikey.ErrInvalidKey))
	// Output:
	// true
}

// Keys belong to an owner (an organization, a workspace): an administrator
// acting for one owner never sees another owner's keys, and the verified key
// tells a handler whose data it may touch.
func Example_owners() {
	ctx := context.Background()
	m, err := apikey.New(memstore.New())
	if err != nil {
		panic(err)
	}
	defer m.Close()
	acme := apikey.NewActorContext(ctx, apikey.Actor{Name: "alice", Groups: []string{"reports:read"}, Owner: "acme"})
	globex := apikey.NewActorContext(ctx, apikey.Actor{Name: "bob", Groups: []string{"reports:read"}, Owner: "globex"})

	k, plaintext, err := m.Issue(acme, apikey.IssueRequest{Name: "CI", Groups: []string{"reports:read"}})
	if err != nil {
		panic(err)
	}
	verified, _ := m.Verify(ctx, plaintext)
	fmt.Println("owner:", verified.Owner)

	_, err = m.Get(globex, k.ID)
	fmt.Println("another owner's administrator gets ErrNotFound:", errors.Is(err, apikey.ErrNotFound))
	page, _ := m.List(globex, apikey.ListOptions{})
	fmt.Println("and lists", len(page.Keys), "keys")
	// Output:
	// owner: acme
	// another owner's administrator gets ErrNotFound: true
	// and lists 0 keys
}
