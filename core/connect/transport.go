package connect

import (
	"cmp"
	"slices"

	"github.com/ferry-p2p/ferry/sdk"
)

// Transport is a configured transport as the connection sees it.
type Transport struct {
	// Name is the transport's wire name (its plugin's Info.Name), as ASK
	// and ACCEPT carry it.
	Name string
	// Priority orders transports: lower is preferred. Transports of equal
	// priority race (staggered); a lower priority starts after
	// [Policy.Fallback], or at once when every better one has failed.
	Priority int
	// Transport is the plugin.
	Transport sdk.Transport
	// NeedsRemote is set for a transport that announces
	// sdk.CapRemoteDescription: as responder it needs the initiator's
	// description, which the sender then sends in a CANDIDATES message.
	NeedsRemote bool
}

// Transports is a device's transports, in priority order.
type Transports []Transport

// Sorted returns ts ordered by priority; equal priorities keep their order.
func (ts Transports) Sorted() Transports {
	out := slices.Clone(ts)
	slices.SortStableFunc(out, func(a, b Transport) int { return cmp.Compare(a.Priority, b.Priority) })
	return out
}

// Names returns the transports' wire names, in order.
func (ts Transports) Names() []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

// Find returns the transport with wire name name.
func (ts Transports) Find(name string) (Transport, bool) {
	for _, t := range ts {
		if t.Name == name {
			return t, true
		}
	}
	return Transport{}, false
}

// Shared returns, in ts's priority order, the transports whose names are in
// offered: what a receiver answers an ASK with.
func (ts Transports) Shared(offered []string) Transports {
	var out Transports
	for _, t := range ts.Sorted() {
		if slices.Contains(offered, t.Name) {
			out = append(out, t)
		}
	}
	return out
}

// buckets groups sorted transports by priority.
func buckets[T any](items []T, prio func(T) int) [][]T {
	var out [][]T
	for i, it := range items {
		if i == 0 || prio(it) != prio(items[i-1]) {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], it)
	}
	return out
}
