package jsonchunk

// ranges is a set of byte ranges: [off, end) pairs, in order, apart and
// not touching (adjacent ranges are merged).
type ranges [][2]int64

// add adds [off, end) to the set.
func (rs *ranges) add(off, end int64) {
	if off >= end {
		return
	}
	s := *rs
	// i: the first range that ends at or after off (may touch it).
	i := 0
	for i < len(s) && s[i][1] < off {
		i++
	}
	// j: the first range that starts after end (does not touch it).
	j := i
	for j < len(s) && s[j][0] <= end {
		off = min(off, s[j][0])
		end = max(end, s[j][1])
		j++
	}
	if i == j {
		s = append(s, [2]int64{})
		copy(s[i+1:], s[i:])
		s[i] = [2]int64{off, end}
		*rs = s
		return
	}
	s[i] = [2]int64{off, end}
	*rs = append(s[:i+1], s[j:]...)
}

// covers reports whether [off, end) lies wholly inside the set.
func (rs ranges) covers(off, end int64) bool {
	if off >= end {
		return true
	}
	for _, r := range rs {
		if r[0] <= off && end <= r[1] {
			return true
		}
		if r[0] > off {
			break
		}
	}
	return false
}

// gaps returns the parts of [off, end) not in the set, in order.
func (rs ranges) gaps(off, end int64) ranges {
	var out ranges
	for _, r := range rs {
		if off >= end {
			break
		}
		if r[1] <= off {
			continue
		}
		if r[0] >= end {
			break
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

// total returns the number of bytes in the set.
func (rs ranges) total() int64 {
	var n int64
	for _, r := range rs {
		n += r[1] - r[0]
	}
	return n
}

// clone returns a copy of the set.
func (rs ranges) clone() ranges { return append(ranges(nil), rs...) }
