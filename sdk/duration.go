package sdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// ParseDuration decodes a duration from a plugin's JSON config: a Go
// duration string ("250ms", "5s") or a number of nanoseconds (how
// encoding/json writes a time.Duration). It refuses a negative duration,
// and a zero one unless zeroOK. Plugins use it so every plugin reads
// durations the same way.
func ParseDuration(val json.RawMessage, zeroOK bool) (time.Duration, error) {
	var d time.Duration
	var s string
	if err := json.Unmarshal(val, &s); err == nil {
		d, err = time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("want a duration such as \"250ms\": %w", err)
		}
	} else {
		var f float64
		if err := json.Unmarshal(val, &f); err != nil {
			return 0, fmt.Errorf("want a duration string or a number of nanoseconds: %w", err)
		}
		if f != math.Trunc(f) || f >= math.MaxInt64 || f < math.MinInt64 {
			return 0, fmt.Errorf("%v is not a whole number of nanoseconds", f)
		}
		d = time.Duration(f)
	}
	switch {
	case d < 0:
		return 0, fmt.Errorf("negative duration %v", d)
	case d == 0 && !zeroOK:
		return 0, errors.New("want a positive duration")
	}
	return d, nil
}
