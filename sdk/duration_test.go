package sdk

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	cases := []struct {
		in     string
		zeroOK bool
		want   time.Duration
		ok     bool
	}{
		{`"250ms"`, false, 250 * time.Millisecond, true},
		{`5000000000`, false, 5 * time.Second, true},
		{`"0s"`, true, 0, true},
		{`"0s"`, false, 0, false},
		{`"-1s"`, true, 0, false},
		{`1.5`, false, 0, false},
		{`"soon"`, false, 0, false},
		{`true`, false, 0, false},
		{`1e300`, false, 0, false},
	}
	for _, c := range cases {
		got, err := ParseDuration(json.RawMessage(c.in), c.zeroOK)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseDuration(%s, %v) = %v, %v; want %v, ok=%v", c.in, c.zeroOK, got, err, c.want, c.ok)
		}
	}
}
