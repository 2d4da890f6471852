package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFile writes content to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// mustLoad loads with opts, filling Home and Env so the test's own
// environment never leaks in, and fails the test on error.
func mustLoad(t *testing.T, opts LoadOptions) *Config {
	t.Helper()
	c, err := Load(isolated(t, opts))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

// loadErr loads with opts (isolated like mustLoad) and returns the error,
// failing the test if there is none.
func loadErr(t *testing.T, opts LoadOptions) error {
	t.Helper()
	_, err := Load(isolated(t, opts))
	if err == nil {
		t.Fatal("Load succeeded, want an error")
	}
	return err
}

func isolated(t *testing.T, opts LoadOptions) LoadOptions {
	t.Helper()
	if opts.Home == "" {
		opts.Home = t.TempDir()
	}
	if opts.Env == nil {
		opts.Env = []string{}
	}
	return opts
}

// validationErrors returns every *ValidationError in err's tree.
func validationErrors(t *testing.T, err error) []*ValidationError {
	t.Helper()
	var out []*ValidationError
	var walk func(error)
	walk = func(e error) {
		var ve *ValidationError
		if errors.As(e, &ve) && ve == e {
			out = append(out, ve)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		if u := errors.Unwrap(e); u != nil {
			walk(u)
		}
	}
	walk(err)
	if len(out) == 0 {
		t.Fatalf("no *ValidationError in %v", err)
	}
	return out
}

// findProblem returns the validation error for key, failing the test if
// there is none.
func findProblem(t *testing.T, err error, key string) *ValidationError {
	t.Helper()
	var keys []string
	for _, ve := range validationErrors(t, err) {
		if ve.Key == key {
			return ve
		}
		keys = append(keys, ve.Key)
	}
	t.Fatalf("no problem reported for %q; got keys %q in:\n%v", key, keys, err)
	return nil
}

// wantContains fails the test unless s contains every one of subs.
func wantContains(t *testing.T, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%q\ndoes not contain %q", s, sub)
		}
	}
}
