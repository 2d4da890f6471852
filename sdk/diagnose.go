package sdk

import "context"

// Diagnoser is an optional interface of a plugin of any role: it checks
// what the plugin depends on outside this process (servers, ports, the
// network between) and reports each check, for `ferry doctor`. A plugin
// that has nothing to check does not implement it.
type Diagnoser interface {
	// Diagnose runs the plugin's checks, within ctx, with the
	// configuration of the last Configure. A check that fails is a Check
	// with CheckFail, not an error; the error is for a plugin that cannot
	// run its checks at all (not configured, closed).
	Diagnose(ctx context.Context, req DiagnoseRequest) ([]Check, error)
}

// DiagnoseRequest is the input of [Diagnoser.Diagnose].
type DiagnoseRequest struct{}

// CheckStatus is the outcome of one [Check].
type CheckStatus int

const (
	// CheckOK: what was checked works.
	CheckOK CheckStatus = iota
	// CheckWarn: it works, with a limitation the user should know.
	CheckWarn
	// CheckFail: it does not work.
	CheckFail
)

// String names the status as `ferry doctor` prints it.
func (s CheckStatus) String() string {
	switch s {
	case CheckOK:
		return "ok"
	case CheckWarn:
		return "warn"
	case CheckFail:
		return "FAIL"
	}
	return "unknown"
}

// Check is one thing a [Diagnoser] checked.
type Check struct {
	// Name says what was checked, with the server or port:
	// "stun stun:203.0.113.5:3478".
	Name string
	// Status is the outcome.
	Status CheckStatus
	// Detail says what was found or why it failed, for people: "mapped
	// address 198.51.100.7:40112".
	Detail string
	// Facts are what was found, for programs: {"mapped":
	// "198.51.100.7:40112"}. Keys are snake_case; `ferry doctor` reads
	// "nat" ("endpoint-independent" or "endpoint-dependent") and "turn"
	// ("ok") to sum up how peers can reach this node.
	Facts map[string]string
}
