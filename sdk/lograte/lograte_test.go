package lograte

import (
	"fmt"
	"testing"
	"time"
)

func TestAllow(t *testing.T) {
	var l Limiter
	t0 := time.Unix(1000, 0)
	steps := []struct {
		key            string
		at             time.Duration
		wantOK         bool
		wantSuppressed int
	}{
		{"a", 0, true, 0},
		{"a", time.Second, false, 0},
		{"b", time.Second, true, 0}, // keys are independent
		{"a", 2 * time.Second, false, 0},
		{"a", DefaultEvery, true, 2}, // the two suppressed are reported
		{"a", DefaultEvery + time.Second, false, 0},
	}
	for i, s := range steps {
		n, ok := l.Allow(s.key, t0.Add(s.at))
		if ok != s.wantOK || n != s.wantSuppressed {
			t.Errorf("step %d (%s at %s): Allow = %d, %v; want %d, %v", i, s.key, s.at, n, ok, s.wantSuppressed, s.wantOK)
		}
	}
}

func TestBoundedKeys(t *testing.T) {
	l := Limiter{MaxKeys: 8, Every: time.Hour}
	now := time.Unix(1000, 0)
	for i := range 100 {
		if _, ok := l.Allow(fmt.Sprint(i), now); !ok {
			t.Fatalf("key %d refused: every new key's first line must be logged", i)
		}
	}
	if n := len(l.entries); n > 8 {
		t.Errorf("%d keys remembered, want at most 8", n)
	}
}

func ExampleLimiter() {
	var l Limiter
	now := time.Unix(0, 0)
	for i := range 3 {
		if n, ok := l.Allow("garbage from 192.0.2.1", now.Add(time.Duration(i)*time.Second)); ok {
			fmt.Println("logged; suppressed before:", n)
		}
	}
	if n, ok := l.Allow("garbage from 192.0.2.1", now.Add(time.Minute)); ok {
		fmt.Println("logged; suppressed before:", n)
	}
	// Output:
	// logged; suppressed before: 0
	// logged; suppressed before: 2
}
