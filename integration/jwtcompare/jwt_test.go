// Package jwtcompare measures Manager.Verify beside golang-jwt's HS256
// verification in the same run: the library module may not import
// golang-jwt, this module may.
package jwtcompare

import (
	"context"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/golang-jwt/jwt/v5"
)

// BenchmarkJWTComparison verifies one credential over and over: an API key
// with Manager.Verify on memstore (hot), and an HS256 JWT with golang-jwt
// v5 (parse, check the signature, validate the claims), the usual
// alternative for stateless API credentials. The issue's goal is HS256 at
// least 15 times slower than Verify hot. Reproduce with
//
//	go test -run '^$' -bench JWTComparison -benchmem -count 6 ./jwtcompare/
func BenchmarkJWTComparison(b *testing.B) {
	ctx := context.Background()
	m, err := apikey.New(memstore.New(), apikey.WithLastUsedFlushInterval(-1))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	_, plaintext, err := m.Issue(ctx, apikey.IssueRequest{Name: "bench", Groups: []string{"read", "write"}, CreatedBy: "bench"})
	if err != nil {
		b.Fatal(err)
	}

	secret := []byte("0123456789abcdef0123456789abcdef")
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "0191c0de-7e57-7000-8000-000000000000", "scope": "read write",
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(),
	}).SignedString(secret)
	if err != nil {
		b.Fatal(err)
	}
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
	keyFunc := func(*jwt.Token) (any, error) { return secret, nil }

	b.Run("apikey-verify-hot", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Verify(ctx, plaintext); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("jwt-hs256", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parser.Parse(token, keyFunc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
