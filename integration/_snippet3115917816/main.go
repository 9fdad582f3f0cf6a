package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
)

func main() {
	m, err := apikey.New(memstore.New(),
		// New keys live 90 days unless asked otherwise; none may live longer than a year.
		apikey.WithExpiryPolicy(apikey.ExpiryPolicy{DefaultLifetime: 90 * 24 * time.Hour, MaxLifetime: 365 * 24 * time.Hour}))
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	auth, err := m.Authenticator(apikey.AuthConfig{
		DeprecationWindow: 14 * 24 * time.Hour, // warn two weeks before a key expires
		DeprecationLink:   "https://example.com/docs/rotating-keys",
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	old, _, err := m.Issue(ctx, apikey.IssueRequest{Name: "billing sync", Groups: []string{"billing:read"}, CreatedBy: "ops"})
	if err != nil {
		log.Fatal(err)
	}
	successor, plaintext, err := m.Roll(ctx, old.ID, apikey.RollRequest{Grace: 7 * 24 * time.Hour, CreatedBy: "ops"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(successor.Preview, len(plaintext) > 0) // hand the plaintext over once, through a secret store

	http.Handle("/api/", auth.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if k, ok := apikey.FromContext(r.Context()); ok {
			if end, ok := k.EndsAt(); ok && time.Until(end) < 7*24*time.Hour {
				fmt.Fprintf(w, "this key stops working at %s: rotate it\n", end.Format(time.RFC3339))
			}
		}
	})))
}
