// Package plugintest is the conformance kit for Ferry plugins: suites that
// any implementation of a plugin role runs from its own tests to check that
// it keeps the contracts written in package sdk.
//
// A transport author writes one factory and calls one function:
//
//	func TestConformance(t *testing.T) {
//		plugintest.TestTransport(t, func(t *testing.T) (a, b sdk.Transport) {
//			a, b = newConfigured(t), newConfigured(t) // registers t.Cleanup(Close)
//			return a, b
//		})
//	}
//
// [TestTransport] is a flat list of subtests run with t.Run, each on a fresh
// pair of transports from the factory: Info, ConfigSchema, Stream (the
// stream checks of golang.org/x/net/nettest.TestConn on streams made by
// [ConnectPair]), HalfClose, LargeWrite, ManyConcurrent, BadDescription,
// UnknownSession, ContextCancel and CloseThenCall. Each subtest runs under a
// watchdog: when it fires, the subtest fails, its context is cancelled and
// its streams and transports are closed, so a hung implementation fails
// instead of hanging the test binary. The watchdog's limit is 60 seconds,
// or the Go duration in the environment variable FERRY_TEST_TIMEOUT.
//
// [TestDiscovery] and [TestSignaling] do the same for the discovery and
// signaling roles, [TestProtocol] for protocols, and [TestProtocolLifecycle]
// checks the life cycle every protocol shares (Info before Configure, the
// API version check, calls after Close). [MemHub] is an in-memory reference implementation of both,
// on which the suites test themselves, directly and through the real RPC
// shims ([ServeInProcess]). [Launch] and [PluginBinary] run a suite against a
// real plugin binary, as the host starts it.
//
// Limits. The suites should not report false positives, but they may miss
// faults (false negatives): races and ordering bugs may show only on some
// runs, so run them several times (go test -count) and always under the race
// detector (go test -race). They test behaviour that can be observed through
// the sdk interfaces on one machine; they cannot tell whether a transport
// works across real networks, NATs or firewalls. A watchdog can only close
// what the suite holds: an implementation that keeps blocking after its
// context is cancelled and its streams and transports are closed still
// hangs until go test's own -timeout ends the binary. BadDescription assumes
// that a fixed string of bytes that is not JSON and contains NUL bytes is
// not a valid description for any transport.
package plugintest
