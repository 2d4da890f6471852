package config

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/ferry-p2p/ferry/core/account"
	"github.com/ferry-p2p/ferry/sdk"
)

var (
	logLevels   = []string{"debug", "info", "warn", "error"}
	logFormats  = []string{"text", "json"}
	instanceRE  = regexp.MustCompile(`^[a-z0-9-]+$`)
	sha256HexRE = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
	// maxPriority bounds a transport instance's priority key.
	maxPriority = 1000
)

// checkLayer checks one layer's tree against the schema before merging, so
// that problems are reported where they were written. It removes null values
// (not set) and values it reports, and returns the problems found in line
// order.
func checkLayer(l *layer) []error {
	var found []*ValidationError
	checkSection(l, rootSchema, l.tree, "", &found)
	sort.SliceStable(found, func(i, j int) bool { return found[i].Line < found[j].Line })
	errs := make([]error, len(found))
	for i, e := range found {
		errs[i] = e
	}
	return errs
}

func checkSection(l *layer, s *section, m map[string]any, path string, errs *[]*ValidationError) {
	for _, k := range sortedKeys(m) {
		key := joinKey(path, k)
		f, ok := s.field(k)
		if !ok {
			*errs = append(*errs, l.errorAt(key, unknownKeyProblem(k, path, s.keys())))
			delete(m, k)
			continue
		}
		if m[k] == nil {
			delete(m, k)
			continue
		}
		if !checkValue(l, f, m[k], key, errs) {
			delete(m, k)
		}
	}
}

// checkValue reports whether v has the shape f wants, recording problems.
func checkValue(l *layer, f field, v any, key string, errs *[]*ValidationError) bool {
	bad := func(want string) bool {
		*errs = append(*errs, l.errorAt(key, typeProblem(want, v)))
		return false
	}
	switch f.kind {
	case kindString:
		if _, ok := v.(string); !ok {
			return bad("a string")
		}
	case kindBool:
		if _, ok := v.(bool); !ok {
			return bad("a boolean (true or false)")
		}
	case kindInt:
		switch v.(type) {
		case int, int64, uint64:
		default:
			return bad("a whole number")
		}
	case kindStrings:
		list, ok := v.([]any)
		if !ok {
			return bad("a list of strings")
		}
		good := true
		for i, e := range list {
			if _, ok := e.(string); !ok {
				*errs = append(*errs, l.errorAt(indexKey(key, i), typeProblem("a string", e)))
				good = false
			}
		}
		return good
	case kindSection:
		m, ok := v.(map[string]any)
		if !ok {
			return bad("a mapping with keys " + strings.Join(f.sub.keys(), ", "))
		}
		checkSection(l, f.sub, m, key, errs)
	case kindSectionList:
		list, ok := v.([]any)
		if !ok {
			return bad("a list of mappings")
		}
		good := true
		for i, e := range list {
			m, ok := e.(map[string]any)
			if !ok {
				*errs = append(*errs, l.errorAt(indexKey(key, i), typeProblem("a mapping with keys "+strings.Join(f.sub.keys(), ", "), e)))
				good = false
				continue
			}
			checkSection(l, f.sub, m, indexKey(key, i), errs)
		}
		return good
	case kindFree:
		if _, ok := v.(map[string]any); !ok {
			return bad("a mapping")
		}
	}
	return true
}

// typeProblem says that want was expected and what v is instead, with a
// hint for the usual slips.
func typeProblem(want string, v any) string {
	p := fmt.Sprintf("wrong type: expected %s, got %s", want, describe(v))
	switch x := v.(type) {
	case string:
		switch {
		case strings.HasPrefix(want, "a list"):
			p += fmt.Sprintf("; for a single value write [%s]", x)
		case strings.HasPrefix(want, "a boolean"):
			p += "; write true or false without quotes"
		}
	case int, int64, uint64, float64, bool:
		if want == "a string" {
			p += "; put it in quotes"
		}
	}
	return p
}

// describe prints a tree value for an error message.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if len(x) > 60 {
			x = x[:57] + "..."
		}
		return fmt.Sprintf("%q (a string)", x)
	case bool:
		return fmt.Sprintf("%t (a boolean)", x)
	case int, int64, uint64:
		return fmt.Sprintf("%d (an integer)", x)
	case float64:
		return fmt.Sprintf("%g (a number)", x)
	case []any:
		return fmt.Sprintf("a list of %d", len(x))
	case map[string]any:
		return "a mapping"
	default:
		return fmt.Sprintf("a %T", v)
	}
}

// unknownKeyProblem explains an unknown key k in the section at path whose
// valid keys are valid, suggesting the closest one.
func unknownKeyProblem(k, path string, valid []string) string {
	where := "valid keys here"
	if path == "" {
		where = "valid top-level keys"
	}
	p := "unknown key"
	if s, ok := closest(k, valid); ok {
		p += fmt.Sprintf("; did you mean %q?", s)
	}
	return fmt.Sprintf("%s (%s: %s)", p, where, strings.Join(valid, ", "))
}

// closest returns the candidate nearest to s, if one is near enough to be a
// likely typo: one edit away (a swap of neighbours counts as one), or two for
// names of five characters or more, ignoring case and "-" versus "_".
func closest(s string, candidates []string) (string, bool) {
	norm := func(x string) string { return strings.ReplaceAll(strings.ToLower(x), "-", "_") }
	best, bestD := "", -1
	for _, c := range candidates {
		d := editDistance(norm(s), norm(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > 2 || (bestD == 2 && len(best) < 5) {
		return "", false
	}
	return best, true
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of adjacent characters each cost one.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// Validate checks the configuration as a whole: enumerated values, instance
// names and pins, role lists and auto-accepted peer IDs. [Load] calls it; call
// it again after changing a Config in code. Each problem is a
// [*ValidationError] naming the file (or variable or flag) that set the
// value, when the Config came from [Load]; several are joined with
// [errors.Join].
func (c *Config) Validate() error {
	v := validator{c: c}
	v.oneOf("log.level", c.Log.Level, logLevels)
	v.oneOf("log.format", c.Log.Format, logFormats)
	v.instances()
	v.role("discovery", c.Discovery)
	v.role("signaling", c.Signaling)
	v.role("transports", c.Transports)
	v.role("protocols", c.Protocols)
	v.duration("connect.stagger", c.Connect.Stagger, 10*time.Second)
	v.duration("connect.fallback", c.Connect.Fallback, time.Minute)
	for i, s := range c.Transfer.AutoAccept {
		if account.IsAccountID(s) {
			if _, err := account.ParseID(s); err != nil {
				v.fail(indexKey("transfer.auto_accept", i), "not a valid account ID", err)
			}
			continue
		}
		if _, err := sdk.ParsePeerID(s); err != nil {
			v.fail(indexKey("transfer.auto_accept", i), "not a valid peer ID", err)
		}
	}
	return joinErrors(v.errs)
}

// validator collects the problems Validate finds.
type validator struct {
	c    *Config
	errs []error
}

func (v *validator) fail(key, problem string, err error) {
	p := v.c.locate(key)
	v.errs = append(v.errs, &ValidationError{File: p.file, Line: p.line, Key: key, Problem: problem, Err: err})
}

// duration checks an optional duration between 0 and most.
func (v *validator) duration(key, val string, most time.Duration) {
	if val == "" {
		return
	}
	d, err := time.ParseDuration(val)
	switch {
	case err != nil:
		v.fail(key, fmt.Sprintf("%q is not a duration such as 250ms or 1s", val), nil)
	case d < 0 || d > most:
		v.fail(key, fmt.Sprintf("%v is not between 0s and %v", d, most), nil)
	}
}

func (v *validator) oneOf(key, val string, allowed []string) {
	for _, a := range allowed {
		if val == a {
			return
		}
	}
	v.fail(key, fmt.Sprintf("%q is not one of %s", val, strings.Join(allowed, ", ")), nil)
}

func (v *validator) instances() {
	first := map[string]int{}
	for i, in := range v.c.Plugins.Instances {
		key := indexKey("plugins.instances", i)
		switch j, dup := first[in.Name]; {
		case in.Name == "":
			v.fail(key+".name", "an instance needs a name", nil)
		case !instanceRE.MatchString(in.Name):
			v.fail(key+".name", fmt.Sprintf("%q is not a valid instance name: use only a-z, 0-9 and -", in.Name), nil)
		case dup:
			v.fail(key+".name", fmt.Sprintf("duplicate instance name %q (also plugins.instances[%d])", in.Name, j), nil)
		default:
			first[in.Name] = i
		}
		if in.Plugin == "." || in.Plugin == ".." || strings.ContainsAny(in.Plugin, `/\`) {
			v.fail(key+".plugin", fmt.Sprintf("%q is not a plugin name: give the binary's file name in plugins.dir, not a path", in.Plugin), nil)
		}
		if in.Priority < 0 || in.Priority > maxPriority {
			v.fail(key+".priority", fmt.Sprintf("%d is not a priority: want 1..%d (lower is preferred), or 0 for 10 times the place in the transports list", in.Priority, maxPriority), nil)
		}
		if in.SHA256 != "" && !sha256HexRE.MatchString(in.SHA256) {
			v.fail(key+".sha256", fmt.Sprintf("%q is not a sha256 pin: want 64 hex digits, or empty to use the lock file", in.SHA256), nil)
		}
		if _, err := json.Marshal(in.Config); err != nil {
			v.fail(key+".config", "cannot be passed to the plugin as JSON", err)
		}
	}
}

// role checks that every name in a role list is an enabled instance.
func (v *validator) role(key string, names []string) {
	seen := map[string]bool{}
	var all []string
	for _, in := range v.c.Plugins.Instances {
		all = append(all, in.Name)
	}
	for i, name := range names {
		k := indexKey(key, i)
		in, ok := v.c.Instance(name)
		switch {
		case seen[name]:
			v.fail(k, fmt.Sprintf("instance %q is listed twice", name), nil)
		case !ok:
			p := fmt.Sprintf("%q is not an instance in plugins.instances", name)
			if s, ok := closest(name, all); ok {
				p += fmt.Sprintf("; did you mean %q?", s)
			}
			p += fmt.Sprintf(" (instances: %s)", strings.Join(all, ", "))
			if src, own := v.c.locate("plugins.instances").file, v.c.locate(key).file; src != own && own == embeddedName {
				p += fmt.Sprintf("; %s sets plugins.instances, which replaces the default list, so set %s there too", src, key)
			}
			v.fail(k, p, nil)
		case !in.Enabled:
			v.fail(k, fmt.Sprintf("instance %q is disabled (enabled: false)", name), nil)
		}
		seen[name] = true
	}
}

// locate says where the value at a key path came from: the highest layer
// that sets it. Everything inside a list belongs to the layer that set the
// list, since lists are replaced whole.
func (c *Config) locate(key string) place {
	if len(c.layers) == 0 {
		return place{file: "config"} // built in code, not loaded
	}
	owner, _, _ := strings.Cut(key, "[")
	for i := len(c.layers) - 1; i >= 0; i-- {
		l := c.layers[i]
		if _, ok := l.set[owner]; !ok {
			continue
		}
		for k := key; k != ""; k = parentKey(k) {
			if p, ok := l.set[k]; ok {
				return p
			}
		}
		return place{file: l.name}
	}
	return place{file: c.Source()}
}
