package apikey

import (
	"errors"
	"fmt"
)

// limitConfig is what the limit options set.
type limitConfig struct {
	limiter     Limiter                   // nil: in process
	ownerLimits func(owner string) Limits // nil: no defaults
	fallback    bool                      // count in process when the limiter fails
}

// WithLimiter sets the counter backend of rate limits (see [Limiter]),
// such as a redislimit.Limiter shared by every instance. Default: in
// process, exact within one process and counted with the Manager's clock
// (see [WithClock]); instances then count apart, so n instances let up to
// n times a limit through.
func WithLimiter(l Limiter) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("apikey: WithLimiter: nil Limiter")
		}
		c.limits.limiter = l
		return nil
	}
}

// WithLimiterFallback chooses what happens to a request when the Limiter
// set with [WithLimiter] fails (unreachable, timed out). false (the
// default): the request is refused, 503, as for a Store failure. true: its
// rate limits are counted in process instead, each instance on its own, so
// during the outage n instances let up to n times a limit through (one
// instance: the limit exactly, but counted afresh from the outage). Either
// way each failure counts in [Stats] (LimiterFailures, LimiterFallbacks)
// and is logged. Credits never fall back: they are spent on the Store.
func WithLimiterFallback(fallback bool) Option {
	return func(c *config) error {
		c.limits.fallback = fallback
		return nil
	}
}

// WithOwnerLimits sets the function that gives the default limits of an
// owner's keys: the application decides, per organization or plan. A
// key's own limits override them (see [Manager.EffectiveLimits]). It is
// called on every metered request and must be safe for concurrent use and
// fast. Limits it returns that are invalid (see [ValidateLimits]) make the
// request fail closed (503), never pass unchecked.
//
// This is the one way an operator imposes limits on an organization: an
// administrator acting for the owner (see [NewActorContext]) may tighten
// the plan's rate limits on a key but never loosen them, replace its credit
// policy or change its credits ([ErrEscalation]). A key's own limits
// outside the plan belong to the organization: its administrators may set,
// change and remove them, whoever set them first.
func WithOwnerLimits(limits func(owner string) Limits) Option {
	return func(c *config) error {
		if limits == nil {
			return fmt.Errorf("apikey: WithOwnerLimits: nil function")
		}
		c.limits.ownerLimits = limits
		return nil
	}
}
