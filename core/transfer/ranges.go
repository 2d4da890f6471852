package transfer

import (
	"fmt"
	"sort"
	"strings"
)

// span is the half-open byte range [off, end).
type span struct{ off, end int64 }

// ranges is a set of byte ranges, kept sorted, merged and non-adjacent.
type ranges []span

// add inserts [off, end) and merges it with every range it overlaps or
// touches. Adding a range already held is a no-op.
func (rs ranges) add(off, end int64) ranges {
	if off >= end {
		return rs
	}
	// i: first range that ends at or after off (may merge with it).
	i := sort.Search(len(rs), func(k int) bool { return rs[k].end >= off })
	// j: first range that starts after end (cannot merge).
	j := sort.Search(len(rs), func(k int) bool { return rs[k].off > end })
	if i < j {
		off = min(off, rs[i].off)
		end = max(end, rs[j-1].end)
	}
	out := make(ranges, 0, len(rs)-(j-i)+1)
	out = append(out, rs[:i]...)
	out = append(out, span{off, end})
	return append(out, rs[j:]...)
}

// covers reports whether [off, end) is wholly in the set.
func (rs ranges) covers(off, end int64) bool {
	if off >= end {
		return true
	}
	i := sort.Search(len(rs), func(k int) bool { return rs[k].end > off })
	return i < len(rs) && rs[i].off <= off && rs[i].end >= end
}

// prefix returns the length of the range starting at 0, or 0.
func (rs ranges) prefix() int64 {
	if len(rs) > 0 && rs[0].off == 0 {
		return rs[0].end
	}
	return 0
}

// clip drops what lies at or beyond limit.
func (rs ranges) clip(limit int64) ranges {
	out := rs[:0:0]
	for _, s := range rs {
		if s.off >= limit {
			break
		}
		out = append(out, span{s.off, min(s.end, limit)})
	}
	return out
}

// missing returns the gaps of the set within [0, size), as [off, end) pairs.
func (rs ranges) missing(size int64) [][2]int64 {
	var out [][2]int64
	var at int64
	for _, s := range rs {
		if s.off >= size {
			break
		}
		if s.off > at {
			out = append(out, [2]int64{at, s.off})
		}
		at = max(at, s.end)
	}
	if at < size {
		out = append(out, [2]int64{at, size})
	}
	return out
}

// formatRanges prints up to a few ranges as "[a, b)" for error messages.
func formatRanges(rs [][2]int64) string {
	const show = 4
	var b strings.Builder
	for i, r := range rs {
		if i == show {
			fmt.Fprintf(&b, " and %d more", len(rs)-show)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "[%d, %d)", r[0], r[1])
	}
	return b.String()
}
