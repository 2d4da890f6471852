package plugintest

import (
	"context"
	"testing"
	"time"
)

// CallTimeout bounds the calls of one test made with [Context], so that a
// bug fails the test instead of hanging it.
const CallTimeout = 60 * time.Second

// Context returns a context that ends after [CallTimeout] or when the test
// ends, whichever comes first.
func Context(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), CallTimeout)
	t.Cleanup(cancel)
	return ctx
}
