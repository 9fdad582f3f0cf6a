package apikey_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
)

// FuzzCredentials feeds arbitrary header values to the credentials parser
// through Authenticate: it must never panic, never accept anything but the
// one issued key, never answer a status outside the documented ones, and
// never put the key in an error.
func FuzzCredentials(f *testing.F) {
	m, err := apikey.New(memstore.New(), apikey.WithLastUsedFlushInterval(-1))
	if err != nil {
		f.Fatal(err)
	}
	defer m.Close()
	_, good := issueFuzzKey(f, m)
	secret := good[len("ak_")+12 : len(good)-6]
	auth, err := m.Authenticator(apikey.AuthConfig{})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][2]string{
		{"Bearer " + good, ""},
		{"", good},
		{"bearer  " + good, ""},
		{"Bearer", ""},
		{"Bearer ", ""},
		{"Bearer\t" + good, ""},
		{"Bearer " + good + " x", ""},
		{"Bearerx " + good, ""},
		{"Basic dXNlcjpwYXNz", ""},
		{"Bearer " + good, good},
		{"", good + "\x00"},
		{"", "\xff" + good},
		{"Bearer " + good + "==", ""},
		{"Bearer " + strings.Repeat("A", 300), ""},
		{"", strings.Repeat(" ", 300)},
		{"Bearer a=b", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, authorization, xAPIKey string) {
		r := &http.Request{Header: http.Header{}}
		if authorization != "" {
			r.Header["Authorization"] = []string{authorization}
		}
		if xAPIKey != "" {
			r.Header["X-Api-Key"] = []string{xAPIKey}
		}
		k, err := auth.Authenticate(r)
		if err == nil {
			token := strings.TrimSpace(authorization[min(len(authorization), len("Bearer")):])
			if xAPIKey != good && token != good {
				t.Fatalf("accepted %q / %q", authorization, xAPIKey)
			}
			if k == nil {
				t.Fatal("no key and no error")
			}
			return
		}
		e, ok := err.(*apikey.AuthError)
		if !ok {
			t.Fatalf("error %T, want *AuthError", err)
		}
		switch e.Status {
		case http.StatusBadRequest, http.StatusUnauthorized:
		default:
			t.Fatalf("status %d for %q / %q", e.Status, authorization, xAPIKey)
		}
		if strings.Contains(err.Error(), good) || strings.Contains(err.Error(), secret) {
			t.Fatalf("the error %q shows the key", err)
		}
	})
}

func issueFuzzKey(f *testing.F, m *apikey.Manager) (*apikey.Key, string) {
	k, plaintext, err := m.Issue(f.Context(), apikey.IssueRequest{Name: "fuzz", Groups: []string{"g"}, CreatedBy: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	return k, plaintext
}
