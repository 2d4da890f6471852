package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-p2p/ferry/core/node"
)

// jsonDoc is the README's "JSON output" section: the keys of each --json
// output, and the example events.
type jsonDoc struct {
	keys     map[string][]string // "events", "peers", "status", "plugins"
	examples []string
}

var (
	backticked = regexp.MustCompile("`([^`]+)`")
	snakeCase  = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
)

func readJSONDoc(t *testing.T) jsonDoc {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(data), "\n### JSON output\n")
	if !ok {
		t.Fatal(`README.md has no "### JSON output" section`)
	}
	if i := strings.Index(sec, "\n#"); i >= 0 {
		sec = sec[:i]
	}
	doc := jsonDoc{keys: map[string][]string{}}
	inExample := false
	for _, line := range strings.Split(sec, "\n") {
		switch {
		case line == "```json":
			inExample = true
		case line == "```":
			inExample = false
		case inExample:
			doc.examples = append(doc.examples, line)
		case strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, "| output") && !strings.HasPrefix(line, "| ---"):
			cells := strings.Split(line, "|")
			if len(cells) < 3 {
				continue
			}
			var name string
			for _, n := range []string{"events", "peers", "status", "plugins", "doctor", "doctor PEER"} {
				if strings.HasPrefix(strings.TrimSpace(cells[1]), n) || strings.HasPrefix(strings.TrimSpace(cells[1]), "`"+n) {
					name = n
				}
			}
			if name == "" {
				t.Fatalf("README JSON output table: row %q names no known output", line)
			}
			for _, m := range backticked.FindAllStringSubmatch(cells[2], -1) {
				doc.keys[name] = append(doc.keys[name], m[1])
			}
		}
	}
	for _, n := range []string{"events", "peers", "status", "plugins", "doctor", "doctor PEER"} {
		if len(doc.keys[n]) == 0 {
			t.Fatalf("README JSON output table lists no keys for %s", n)
		}
	}
	return doc
}

// jsonKeys returns the JSON keys of struct type T's fields.
func jsonKeys[T any]() []string {
	var out []string
	typ := reflect.TypeFor[T]()
	for i := range typ.NumField() {
		if name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

// eventKinds returns the values of the Event* constants in core/node.
func eventKinds(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "core", "node", "event.go"))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, m := range regexp.MustCompile(`(?m)^\s*Event[A-Z]\w*\s*=\s*"([a-z_]+)"`).FindAllStringSubmatch(string(src), -1) {
		kinds = append(kinds, m[1])
	}
	if len(kinds) < 10 {
		t.Fatalf("found only event kinds %v in core/node/event.go", kinds)
	}
	return kinds
}

// TestJSONOutputDocumented: the README's JSON output section lists exactly
// the keys each --json output has, all snake_case, and shows an example of
// every event type that uses only documented keys.
func TestJSONOutputDocumented(t *testing.T) {
	doc := readJSONDoc(t)
	for name, keys := range map[string][]string{
		"events":      jsonKeys[node.Event](),
		"peers":       jsonKeys[peerView](),
		"status":      jsonKeys[statusLine](),
		"plugins":     jsonKeys[pluginRow](),
		"doctor":      jsonKeys[doctorRow](),
		"doctor PEER": jsonKeys[probeRow](),
	} {
		if !slices.Equal(doc.keys[name], keys) {
			t.Errorf("README lists the keys of %s as\n  %v\nthe code has\n  %v", name, doc.keys[name], keys)
		}
		for _, k := range keys {
			if !snakeCase.MatchString(k) {
				t.Errorf("%s key %q is not snake_case", name, k)
			}
		}
	}
	shown := map[string]bool{}
	for _, line := range doc.examples {
		obj := checkJSONLine(t, "README example", line, doc.keys["events"])
		if kind, _ := obj["event"].(string); kind != "" {
			shown[kind] = true
		}
	}
	for _, k := range eventKinds(t) {
		if !shown[k] {
			t.Errorf("README shows no example of the %q event", k)
		}
	}
}

// checkJSONLine fails unless line is one JSON object whose keys are all in
// allowed, and returns it.
func checkJSONLine(t *testing.T, what, line string, allowed []string) map[string]any {
	t.Helper()
	var obj map[string]any
	if err := json.Unmarshal([]byte(line), &obj); err != nil {
		t.Errorf("%s: line is not a JSON object (%v): %s", what, err, line)
		return nil
	}
	for k := range obj {
		if !slices.Contains(allowed, k) {
			t.Errorf("%s: key %q is not among the documented keys %v: %s", what, k, allowed, line)
		}
	}
	return obj
}
