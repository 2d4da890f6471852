package jsonchunk

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestRangesAdd(t *testing.T) {
	cases := []struct {
		adds [][2]int64
		want ranges
	}{
		{nil, nil},
		{[][2]int64{{5, 5}}, nil},
		{[][2]int64{{0, 10}}, ranges{{0, 10}}},
		{[][2]int64{{0, 10}, {10, 20}}, ranges{{0, 20}}},
		{[][2]int64{{10, 20}, {0, 10}}, ranges{{0, 20}}},
		{[][2]int64{{0, 5}, {10, 15}, {20, 25}}, ranges{{0, 5}, {10, 15}, {20, 25}}},
		{[][2]int64{{20, 25}, {0, 5}, {10, 15}}, ranges{{0, 5}, {10, 15}, {20, 25}}},
		{[][2]int64{{0, 5}, {10, 15}, {20, 25}, {3, 22}}, ranges{{0, 25}}},
		{[][2]int64{{0, 5}, {10, 15}, {6, 9}}, ranges{{0, 5}, {6, 9}, {10, 15}}},
		{[][2]int64{{0, 5}, {1, 2}}, ranges{{0, 5}}},
	}
	for _, c := range cases {
		var rs ranges
		for _, a := range c.adds {
			rs.add(a[0], a[1])
		}
		if !slices.Equal(rs, c.want) {
			t.Errorf("add %v = %v, want %v", c.adds, rs, c.want)
		}
	}
}

// TestRangesModel checks add, covers, gaps and total against a bitmap.
func TestRangesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 200
	for range 300 {
		var rs ranges
		var bits [n]bool
		for range rng.IntN(12) {
			a := rng.Int64N(n)
			b := a + rng.Int64N(n-a+1)
			rs.add(a, b)
			for i := a; i < b; i++ {
				bits[i] = true
			}
		}
		var total int64
		for _, b := range bits {
			if b {
				total++
			}
		}
		if rs.total() != total {
			t.Fatalf("%v: total %d, want %d", rs, rs.total(), total)
		}
		for i := 1; i < len(rs); i++ {
			if rs[i-1][1] >= rs[i][0] {
				t.Fatalf("%v: not apart", rs)
			}
		}
		a := rng.Int64N(n)
		b := a + rng.Int64N(n-a+1)
		all := true
		var want ranges
		for i := a; i < b; i++ {
			all = all && bits[i]
			if !bits[i] {
				want.add(i, i+1)
			}
		}
		if rs.covers(a, b) != all {
			t.Fatalf("%v covers [%d, %d): %v, want %v", rs, a, b, !all, all)
		}
		if got := rs.gaps(a, b); !slices.Equal(got, want) {
			t.Fatalf("%v gaps [%d, %d) = %v, want %v", rs, a, b, got, want)
		}
	}
}

func TestVerifyBlock(t *testing.T) {
	for _, c := range []struct {
		chunk int
		size  int64
		want  int64
	}{
		{1 << 20, 0, 1 << 20},
		{1 << 20, 100, 1 << 20},
		{1 << 20, 4096 << 20, 1 << 20},
		{1 << 20, 4096<<20 + 1, 2 << 20},
		{1000, 10_000_000, 3000},
		{1, 1 << 40, 1 << 28},
	} {
		got := verifyBlock(c.chunk, c.size)
		if got != c.want || (c.size+got-1)/got > MaxVerifyBlocks {
			t.Errorf("verifyBlock(%d, %d) = %d, want %d", c.chunk, c.size, got, c.want)
		}
	}
}
