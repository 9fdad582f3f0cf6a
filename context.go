package apikey

import "context"

// keyContextKey finds a keyContext among the values of a context.
type keyContextKey struct{}

// keyContext marks a request that an Authenticator saw, and carries the
// key it verified (nil for an anonymous request on an optional route), in
// a single allocation: what context.WithValue would cost for the key alone.
type keyContext struct {
	context.Context
	key *Key
}

func (c *keyContext) Value(key any) any {
	if key == (keyContextKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// FromContext returns the key that an [Authenticator] verified for the
// request whose context is ctx. ok is false, and k nil, if there is none
// (no Authenticator, or an anonymous request on an optional route); it
// never panics.
func FromContext(ctx context.Context) (k *Key, ok bool) {
	if ctx == nil {
		return nil, false
	}
	c, _ := ctx.Value(keyContextKey{}).(*keyContext)
	if c == nil || c.key == nil {
		return nil, false
	}
	return c.key, true
}

// NewContext returns a copy of ctx as an [Authenticator] leaves it: carrying
// k as the verified key, or, if k is nil, marking an anonymous request that
// [Authenticator.Optional] let through. It is meant for tests of handlers
// that call [FromContext] or sit behind a scope check. It verifies nothing.
func NewContext(ctx context.Context, k *Key) context.Context {
	return &keyContext{Context: ctx, key: k}
}
