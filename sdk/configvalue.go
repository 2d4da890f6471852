package sdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// ConfigValue is one option set in a plugin's JSON config.
type ConfigValue struct {
	// Name is the option's key, one the schema names.
	Name string
	// Value is its JSON value, never null.
	Value json.RawMessage
}

// ConfigValues decodes the JSON object a plugin's Configure receives into
// the options it sets, in the order of schema's fields (so that the first
// error is the same every time). Empty input and null set nothing; an
// option set to null is left out, so it takes its default. Input that is
// not a JSON object, and keys the schema does not name, are errors
// wrapping [ErrInvalidConfig] that begin with plugin's name and list the
// known keys. Plugins decode each value with [ParseDuration], [ParseInt],
// [ParseStrings] or their own parser.
func ConfigValues(plugin string, raw []byte, schema ConfigSchema) ([]ConfigValue, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("%s config: want a JSON object: %w: %w", plugin, ErrInvalidConfig, err)
	}
	known := make([]string, len(schema.Fields))
	for i, f := range schema.Fields {
		known[i] = f.Name
	}
	var unknown []string
	for key := range obj {
		if _, ok := schema.Field(key); !ok {
			unknown = append(unknown, key)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, fmt.Errorf("%s config: unknown key %q (known: %s): %w", plugin, unknown[0], strings.Join(known, ", "), ErrInvalidConfig)
	}
	var out []ConfigValue
	for _, name := range known {
		val, ok := obj[name]
		if !ok || bytes.Equal(bytes.TrimSpace(val), []byte("null")) {
			continue
		}
		out = append(out, ConfigValue{Name: name, Value: val})
	}
	return out, nil
}

// ParseInt decodes a whole JSON number in [lo, hi] from a plugin's config.
func ParseInt(val json.RawMessage, lo, hi int) (int, error) {
	var f float64
	if err := json.Unmarshal(val, &f); err != nil {
		return 0, fmt.Errorf("want a whole number: %w", err)
	}
	if f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		return 0, fmt.Errorf("%v is not a whole number from %d to %d", f, lo, hi)
	}
	return int(f), nil
}

// ParseStrings decodes a JSON list of strings from a plugin's config.
func ParseStrings(val json.RawMessage) ([]string, error) {
	var ss []string
	if err := json.Unmarshal(val, &ss); err != nil {
		return nil, fmt.Errorf("want a list of strings: %w", err)
	}
	return ss, nil
}

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
