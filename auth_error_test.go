package apikey_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/apikit/apikey"
	"github.com/stretchr/testify/assert"
)

// TestAuthErrorOfApplications checks an AuthError that an application
// builds itself: its code, its message and its cause.
func TestAuthErrorOfApplications(t *testing.T) {
	for _, tc := range []struct {
		err  *apikey.AuthError
		code string
	}{
		{&apikey.AuthError{Status: http.StatusUnauthorized, Err: apikey.ErrMissingKey}, ""},
		{&apikey.AuthError{Status: http.StatusBadRequest, Err: apikey.ErrMultipleKeys}, "invalid_request"},
		{&apikey.AuthError{Status: http.StatusUnauthorized, Err: apikey.ErrExpired}, "invalid_token"},
		{&apikey.AuthError{Status: http.StatusForbidden, Err: apikey.ErrInsufficientScope}, "insufficient_scope"},
		{&apikey.AuthError{Status: http.StatusServiceUnavailable, Err: apikey.ErrStoreFailure}, ""},
		{&apikey.AuthError{Status: http.StatusInternalServerError}, ""},
	} {
		assert.Equal(t, tc.code, tc.err.Code(), "%d", tc.err.Status)
	}
	err := &apikey.AuthError{Status: http.StatusUnauthorized, Err: apikey.ErrExpired}
	assert.Equal(t, "401 invalid_token: apikey: key has expired", err.Error())
	assert.True(t, errors.Is(err, apikey.ErrExpired))
}
