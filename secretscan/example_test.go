package secretscan_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/apikit/apikey/secretscan"
)

// Mount the partner endpoint: GitHub's alerts deactivate the leaked keys,
// and the hook tells the customer.
func ExampleNewHandler() {
	m, err := apikey.New(memstore.New()) // your Store: sqlstore in production
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	alerts, err := secretscan.NewHandler(m, &secretscan.GitHubKeys{},
		secretscan.WithHook(func(ctx context.Context, a secretscan.Alert) {
			// a.Key.Preview is safe to show; the token is never given.
			log.Printf("key %s (%s) found at %s; deactivated: %v", a.Key.Preview, a.Key.Name, a.URL, a.Deactivated)
		}))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /github/secret-scanning", alerts) // no API-key middleware: GitHub signs
	fmt.Println(alerts != nil)
	// Output: true
}
