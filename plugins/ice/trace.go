package ice

import (
	"fmt"
	"strings"

	"github.com/pion/ice/v4"
)

// maxTracePairs bounds the pairs a trace lists, and an error names.
const maxTracePairs = 16

// pairTrace describes each candidate pair the agent checked, nominated
// pair first: "host 127.0.0.1:40000 -> host 127.0.0.1:40001: succeeded,
// nominated, rtt 0.3ms". It is the stream's sdk.TracedStream trace, and
// what a failed Connect lists of its pairs.
func pairTrace(agent *ice.Agent) []string {
	cands := map[string]string{}
	for _, c := range agent.GetLocalCandidatesStats() {
		cands["l"+c.ID] = candString(c)
	}
	for _, c := range agent.GetRemoteCandidatesStats() {
		cands["r"+c.ID] = candString(c)
	}
	var first, rest []string
	for _, p := range agent.GetCandidatePairsStats() {
		line := fmt.Sprintf("%s -> %s: %s", orUnknown(cands["l"+p.LocalCandidateID]), orUnknown(cands["r"+p.RemoteCandidateID]), p.State)
		if p.Nominated {
			line += ", nominated"
		}
		if p.CurrentRoundTripTime > 0 {
			line += fmt.Sprintf(", rtt %.1fms", p.CurrentRoundTripTime*1000)
		} else if p.RequestsSent > 0 && p.ResponsesReceived == 0 {
			line += fmt.Sprintf(", %d checks unanswered", p.RequestsSent)
		}
		if p.Nominated {
			first = append(first, line)
		} else {
			rest = append(rest, line)
		}
	}
	out := append(first, rest...)
	if len(out) > maxTracePairs {
		more := len(out) - maxTracePairs
		out = append(out[:maxTracePairs], fmt.Sprintf("(%d more pairs)", more))
	}
	return out
}

// candString is a candidate in a trace: type, address and port, and for
// a relayed one the TURN server it came from.
func candString(c ice.CandidateStats) string {
	s := fmt.Sprintf("%s %s:%d", c.CandidateType, c.IP, c.Port)
	if c.CandidateType == ice.CandidateTypeRelay && c.URL != "" {
		s += " (" + c.URL + ")"
	}
	return s
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

// pairsTried is the pairs of a failed Connect for its error: "; pairs:
// a; b", or "" when the agent checked none.
func pairsTried(agent *ice.Agent) string {
	t := pairTrace(agent)
	if len(t) == 0 {
		return "; no candidate pair could be formed"
	}
	return "; pairs: " + strings.Join(t, "; ")
}
