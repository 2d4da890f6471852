package ranges

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestAdd checks merging: the cases core/transfer and jsonchunk each had.
func TestAdd(t *testing.T) {
	tests := []struct {
		name string
		adds [][2]int64
		want Set
	}{
		{"nothing", nil, nil},
		{"empty range ignored", [][2]int64{{5, 5}}, nil},
		{"one", [][2]int64{{0, 10}}, Set{{0, 10}}},
		{"adjacent merge", [][2]int64{{0, 10}, {10, 20}}, Set{{0, 20}}},
		{"adjacent merge reversed", [][2]int64{{10, 20}, {0, 10}}, Set{{0, 20}}},
		{"gap kept", [][2]int64{{0, 10}, {11, 20}}, Set{{0, 10}, {11, 20}}},
		{"three apart", [][2]int64{{0, 5}, {10, 15}, {20, 25}}, Set{{0, 5}, {10, 15}, {20, 25}}},
		{"three apart reversed", [][2]int64{{20, 25}, {0, 5}, {10, 15}}, Set{{0, 5}, {10, 15}, {20, 25}}},
		{"bridge", [][2]int64{{0, 10}, {20, 30}, {40, 50}, {5, 45}}, Set{{0, 50}}},
		{"bridge from inside", [][2]int64{{0, 5}, {10, 15}, {20, 25}, {3, 22}}, Set{{0, 25}}},
		{"inside", [][2]int64{{0, 100}, {10, 20}}, Set{{0, 100}}},
		{"inside at the start", [][2]int64{{0, 5}, {1, 2}}, Set{{0, 5}}},
		{"insert between", [][2]int64{{0, 10}, {50, 60}, {20, 30}}, Set{{0, 10}, {20, 30}, {50, 60}}},
		{"insert between, apart", [][2]int64{{0, 5}, {10, 15}, {6, 9}}, Set{{0, 5}, {6, 9}, {10, 15}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Set
			for _, a := range tt.adds {
				s.Add(a[0], a[1])
			}
			if !slices.Equal(s, tt.want) {
				t.Errorf("add %v = %v, want %v", tt.adds, s, tt.want)
			}
			for _, a := range tt.adds {
				if !s.Covers(a[0], a[1]) {
					t.Errorf("Covers(%d, %d) = false after adding it", a[0], a[1])
				}
			}
		})
	}
}

func TestQueries(t *testing.T) {
	s := Set{{0, 10}, {20, 30}}
	if s.Covers(5, 25) || s.Covers(10, 11) || !s.Covers(20, 30) || !s.Covers(3, 3) {
		t.Error("Covers wrong")
	}
	if got := s.Clip(25); !slices.Equal(got, Set{{0, 10}, {20, 25}}) {
		t.Errorf("Clip(25) = %v", got)
	}
	if got := s.Clip(25); &got[0] == &s[0] {
		t.Error("Clip shares memory with the set")
	}
	if got := s.Gaps(0, 40); !slices.Equal(got, Set{{10, 20}, {30, 40}}) {
		t.Errorf("Gaps(0, 40) = %v, want what a 40-byte file lacks", got)
	}
	if got := s.Gaps(20, 30); got != nil {
		t.Errorf("Gaps(20, 30) = %v, want nil", got)
	}
	if p := s.Prefix(); p != 10 {
		t.Errorf("Prefix = %d, want 10", p)
	}
	if p := (Set{{5, 10}}).Prefix(); p != 0 {
		t.Errorf("Prefix of a set not starting at 0 = %d, want 0", p)
	}
	if n := s.Total(); n != 20 {
		t.Errorf("Total = %d, want 20", n)
	}
	c := s.Clone()
	c.Add(10, 20)
	if !slices.Equal(s, Set{{0, 10}, {20, 30}}) {
		t.Errorf("adding to a clone changed the set: %v", s)
	}
}

func TestFormat(t *testing.T) {
	s := Set{{0, 1}, {2, 3}, {4, 5}, {6, 7}, {8, 9}, {10, 11}}
	for _, c := range []struct {
		set  Set
		most int
		want string
	}{
		{nil, 0, ""},
		{Set{{0, 10}}, 4, "[0, 10)"},
		{s, 0, "[0, 1), [2, 3), [4, 5), [6, 7), [8, 9), [10, 11)"},
		{s, 4, "[0, 1), [2, 3), [4, 5), [6, 7) and 2 more"},
		{s[:4], 4, "[0, 1), [2, 3), [4, 5), [6, 7)"},
	} {
		if got := c.set.Format(c.most); got != c.want {
			t.Errorf("%v.Format(%d) = %q, want %q", c.set, c.most, got, c.want)
		}
	}
}

// TestModel checks Add, Remove, Covers, Gaps and Total against a bitmap.
func TestModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 200
	for range 300 {
		var s Set
		var bits [n]bool
		for range rng.IntN(12) {
			a := rng.Int64N(n)
			b := a + rng.Int64N(n-a+1)
			s.Add(a, b)
			for i := a; i < b; i++ {
				bits[i] = true
			}
		}
		for range rng.IntN(4) {
			a := rng.Int64N(n)
			b := a + rng.Int64N(n-a+1)
			s.Remove(a, b)
			for i := a; i < b; i++ {
				bits[i] = false
			}
		}
		var total int64
		for _, b := range bits {
			if b {
				total++
			}
		}
		if s.Total() != total {
			t.Fatalf("%v: total %d, want %d", s, s.Total(), total)
		}
		for i := 1; i < len(s); i++ {
			if s[i-1][1] >= s[i][0] {
				t.Fatalf("%v: not apart", s)
			}
		}
		a := rng.Int64N(n)
		b := a + rng.Int64N(n-a+1)
		all := true
		var want Set
		for i := a; i < b; i++ {
			all = all && bits[i]
			if !bits[i] {
				want.Add(i, i+1)
			}
		}
		if s.Covers(a, b) != all {
			t.Fatalf("%v covers [%d, %d): %v, want %v", s, a, b, !all, all)
		}
		if got := s.Gaps(a, b); !slices.Equal(got, want) {
			t.Fatalf("%v gaps [%d, %d) = %v, want %v", s, a, b, got, want)
		}
	}
}
