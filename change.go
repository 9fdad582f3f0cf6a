package apikey

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Change is who makes a change of a key, when and why: what a Store is
// given by every method that changes a key, and records in the change's
// [Event]. The Manager makes one for each change, with one read of its
// clock, from the actor in the context ([NewActorContext]) or, for trusted
// code, the name given with [NewChangeContext]; a Store reads nothing about
// a change from the context.
type Change struct {
	// At is when the change is made, in UTC, truncated to microseconds:
	// the UpdatedAt the change gives the key (and the CreatedAt of a key
	// it creates), and the At of its event.
	At time.Time

	// ActorID, ActorName and ActorPreview name who makes the change (see
	// [Event]): the actor's ID, Name and Preview, or for trusted code
	// the name given with NewChangeContext, or [OperatorName].
	ActorID, ActorName, ActorPreview string

	// Reason is why the change is made (see [NewChangeContext]); empty if
	// the caller did not say.
	Reason string
}

// maxChangeText is the length, in bytes, at which NewChangeContext cuts
// the name and the reason of a change.
const maxChangeText = 255

type changeContextKey struct{}

// NewChangeContext returns a context that names who makes the changes made
// with it, and why, for trusted code (a command-line tool, a bootstrap
// step, a job) that acts without an [Actor] and so without escalation
// checks: the Manager records c.ActorID and c.ActorName in the [Change] it
// gives the Store instead of [OperatorName] (an empty ActorName stays
// OperatorName), and c.Reason with them. An actor set by [NewActorContext]
// takes precedence over c.ActorID and c.ActorName, never over its own
// checks: the context grants nothing. c.Reason is recorded with an actor
// too. c.At and c.ActorPreview are ignored: the Manager dates every change
// with its own clock, and a preview belongs to an actor's key.
//
// Only the Manager reads this context, once per change; a Store is given
// the Change.
//
// Events are read by more people than keys are, so the name and the
// reason are cleaned before they are kept: every API key in them is
// redacted to its preview ([RedactKeys]), control characters and invalid
// UTF-8 become U+FFFD, and each is cut to at most 255 bytes, on a
// character boundary. They are never refused: a revocation that quotes
// where a key leaked must still happen.
func NewChangeContext(ctx context.Context, c Change) context.Context {
	c = Change{ActorID: cleanChangeText(c.ActorID), ActorName: cleanChangeText(c.ActorName), Reason: cleanChangeText(c.Reason)}
	return context.WithValue(ctx, changeContextKey{}, c)
}

// change returns the Change of one change made with ctx, dated by one read
// of the Manager's clock.
func (m *Manager) change(ctx context.Context) Change {
	c := Change{ActorName: OperatorName}
	given, _ := ctx.Value(changeContextKey{}).(Change)
	if given.ActorName != "" {
		c.ActorID, c.ActorName = given.ActorID, given.ActorName
	}
	c.Reason = given.Reason
	if a, ok := ActorFromContext(ctx); ok {
		// As given (the application names its actors; the admin API's
		// names passed ValidateName), but never with a full key in them:
		// events are read by more people than keys are. RedactKeys
		// allocates nothing when there is no key.
		c.ActorID, c.ActorName, c.ActorPreview = RedactKeys(a.ID), RedactKeys(a.Name), RedactKeys(a.Preview)
	}
	c.At = m.now()
	return c
}

// cleanChangeText redacts keys, replaces control and format characters
// (bidi overrides, zero-width characters: a name must not display as
// another) and invalid UTF-8 with U+FFFD, and cuts s to maxChangeText bytes.
func cleanChangeText(s string) string {
	s = RedactKeys(strings.ToValidUTF8(s, "\uFFFD"))
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			return '\uFFFD'
		}
		return r
	}, s)
	if len(s) > maxChangeText {
		cut := maxChangeText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}
