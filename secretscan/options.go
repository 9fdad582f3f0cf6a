package secretscan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/apikit/apikey"
)

// Option configures a Handler. An invalid value makes [NewHandler] return an
// error.
type Option func(*config) error

type config struct {
	policy  Policy
	hook    func(context.Context, Alert)
	maxBody int64
	logger  *slog.Logger
}

// DefaultMaxBodyBytes is the largest request body a Handler reads unless
// [WithMaxBodyBytes] says otherwise: some thousands of alerts.
const DefaultMaxBodyBytes = 1 << 20

// Policy is what a Handler does to a key that GitHub found in public.
type Policy int

const (
	// Deactivate deactivates the key at once: from then on it
	// authenticates nothing (see [apikey.Manager.Deactivate]). The default.
	Deactivate Policy = iota

	// ReportOnly changes nothing and only calls the hook, for a service that
	// revokes keys its own way (rolling them, once the library supports it,
	// or after asking the customer).
	ReportOnly
)

// String returns "deactivate" or "report-only".
func (p Policy) String() string {
	switch p {
	case Deactivate:
		return "deactivate"
	case ReportOnly:
		return "report-only"
	default:
		return fmt.Sprintf("Policy(%d)", int(p))
	}
}

// Alert is a reported token that is one of your keys.
type Alert struct {
	// Key is the key's record. Its Active field tells the state after the
	// policy was applied.
	Key *apikey.Key

	// Deactivated is true if this alert deactivated the key; false if the
	// key was inactive already, or the policy is ReportOnly.
	Deactivated bool

	// Type is the name of the pattern GitHub matched, as agreed when you
	// joined the partner program.
	Type string

	// URL is the public URL where the token was found; it may be empty.
	URL string

	// Source is where GitHub found it: "content", "commit",
	// "pull_request_comment", "gist_content", "npm", ...
	Source string
}

// WithPolicy sets what the Handler does to a leaked key. Default:
// [Deactivate].
func WithPolicy(p Policy) Option {
	return func(c *config) error {
		if p != Deactivate && p != ReportOnly {
			return fmt.Errorf("secretscan: WithPolicy: unknown policy %d", int(p))
		}
		c.policy = p
		return nil
	}
}

// WithHook sets a function called once per genuine key in an alert, after
// the policy was applied, before the Handler answers: tell the customer,
// open an incident. It runs on the request's goroutine; a slow hook delays
// GitHub's request, so hand long work to a queue. It never sees the token.
func WithHook(hook func(ctx context.Context, a Alert)) Option {
	return func(c *config) error {
		if hook == nil {
			return errors.New("secretscan: WithHook: nil hook")
		}
		c.hook = hook
		return nil
	}
}

// WithMaxBodyBytes sets the largest request body the Handler reads; a
// larger one is refused with 413 before its signature is checked. Default:
// [DefaultMaxBodyBytes].
func WithMaxBodyBytes(n int64) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("secretscan: WithMaxBodyBytes: %d is not positive", n)
		}
		c.maxBody = n
		return nil
	}
}

// WithLogger sets where the Handler reports refused requests and failures
// of the key store or of the public keys. It never logs a token. Default:
// the Manager's logger ([apikey.Manager.Logger], set by
// [apikey.WithLogger]).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("secretscan: WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}
