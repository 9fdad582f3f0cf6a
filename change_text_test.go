package apikey_test

import (
	"context"
	"strings"
	"testing"

	"github.com/apikit/apikey"
	"github.com/stretchr/testify/assert"
)

// NewChangeContext replaces Unicode format characters (bidi overrides and
// isolates, zero-width) as it does controls: the admin page's History shows
// names as they are, and a name must not display as another.
func TestChangeTextDropsFormatCharacters(t *testing.T) {
	ctx := apikey.NewChangeContext(context.Background(), apikey.Change{ActorName: "apikey (bob\u202Eecila)", Reason: "ok\u2066\u200B"})
	c := apikey.ChangeFromContext(ctx)
	assert.False(t, strings.ContainsAny(c.ActorName+c.Reason, "\u202E\u2066\u200B"), "kept: %q %q", c.ActorName, c.Reason)
}
