// Package ranges is a set of byte ranges a part file holds, for protocols
// that resume by chunks (and for the part files that record them).
package ranges

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Set is a set of half-open byte ranges [off, end), kept in order, apart
// and not touching: a range added next to or over others is merged with
// them. The zero value is the empty set. Its type is that of
// sdk.RangedPart.Missing and of the wire formats' range lists, so either
// converts to a Set for free.
type Set [][2]int64

// Add adds [off, end) to the set. An empty range (off >= end) changes
// nothing.
func (s *Set) Add(off, end int64) {
	if off >= end {
		return
	}
	rs := *s
	// i: the first range that ends at or after off (may touch it).
	i := sort.Search(len(rs), func(k int) bool { return rs[k][1] >= off })
	// j: the first range that starts after end (does not touch it).
	j := sort.Search(len(rs), func(k int) bool { return rs[k][0] > end })
	if i < j {
		off = min(off, rs[i][0])
		end = max(end, rs[j-1][1])
	}
	*s = slices.Replace(rs, i, j, [2]int64{off, end})
}

// Remove takes [off, end) out of the set, splitting a range that holds it.
// An empty range (off >= end) changes nothing.
func (s *Set) Remove(off, end int64) {
	if off >= end {
		return
	}
	var out Set
	for _, r := range *s {
		if r[1] <= off || r[0] >= end {
			out = append(out, r)
			continue
		}
		if r[0] < off {
			out = append(out, [2]int64{r[0], off})
		}
		if r[1] > end {
			out = append(out, [2]int64{end, r[1]})
		}
	}
	*s = out
}

// Covers reports whether [off, end) lies wholly inside the set. An empty
// range is always covered.
func (s Set) Covers(off, end int64) bool {
	if off >= end {
		return true
	}
	i := sort.Search(len(s), func(k int) bool { return s[k][1] > off })
	return i < len(s) && s[i][0] <= off && s[i][1] >= end
}

// Gaps returns the parts of [off, end) not in the set, in order; nil when
// it is covered. Gaps(0, size) is what a file of size bytes still lacks.
func (s Set) Gaps(off, end int64) Set {
	var out Set
	for _, r := range s {
		if off >= end || r[0] >= end {
			break
		}
		if r[1] <= off {
			continue
		}
		if r[0] > off {
			out = append(out, [2]int64{off, r[0]})
		}
		off = max(off, r[1])
	}
	if off < end {
		out = append(out, [2]int64{off, end})
	}
	return out
}

// Prefix returns the length of the range that starts at 0, or 0: how many
// leading bytes the set holds.
func (s Set) Prefix() int64 {
	if len(s) > 0 && s[0][0] == 0 {
		return s[0][1]
	}
	return 0
}

// Total returns the number of bytes in the set.
func (s Set) Total() int64 {
	var n int64
	for _, r := range s {
		n += r[1] - r[0]
	}
	return n
}

// Clip returns a new set of what s holds below limit.
func (s Set) Clip(limit int64) Set {
	var out Set
	for _, r := range s {
		if r[0] >= limit {
			break
		}
		out = append(out, [2]int64{r[0], min(r[1], limit)})
	}
	return out
}

// Clone returns a copy of the set.
func (s Set) Clone() Set { return slices.Clone(s) }

// Format writes the ranges as "[a, b), [c, d)" for messages; with most >
// 0, only the first most of them, followed by " and N more".
func (s Set) Format(most int) string {
	var b strings.Builder
	for i, r := range s {
		if most > 0 && i == most {
			fmt.Fprintf(&b, " and %d more", len(s)-most)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "[%d, %d)", r[0], r[1])
	}
	return b.String()
}
