package config

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
)

// CheckPluginConfigs checks each instance's "config:" mapping against its
// plugin's [sdk.ConfigSchema], as `ferry config check` does without starting
// any plugin: a key the schema does not name, or a value not of the field's
// type, is a [*ValidationError] naming the file and line it was set on
// (with the closest known key for a likely typo). schema returns a
// plugin's schema, or false when it is not known without starting the
// plugin; those instances are returned as unchecked. The plugin itself
// still checks ranges and the like when it is configured.
func (c *Config) CheckPluginConfigs(schema func(plugin string) (sdk.ConfigSchema, bool)) (unchecked []string, err error) {
	v := validator{c: c}
	for i, in := range c.Plugins.Instances {
		if len(in.Config) == 0 {
			continue
		}
		s, ok := schema(in.Plugin)
		if !ok {
			unchecked = append(unchecked, in.Name)
			continue
		}
		known := make([]string, len(s.Fields))
		for j, f := range s.Fields {
			known[j] = f.Name
		}
		base := indexKey("plugins.instances", i) + ".config"
		for _, k := range sortedKeys(in.Config) {
			key := joinKey(base, k)
			f, ok := s.Field(k)
			if !ok {
				v.fail(key, fmt.Sprintf("unknown key for plugin %s (valid keys here: %s)", in.Plugin, strings.Join(known, ", "))+didYouMean(k, known), nil)
				continue
			}
			if in.Config[k] == nil {
				continue // null: not set
			}
			if problem := pluginTypeProblem(f.Type, in.Config[k]); problem != "" {
				v.fail(key, problem, nil)
			}
		}
	}
	sortByLine(v.errs)
	return unchecked, joinErrors(v.errs)
}

func didYouMean(k string, known []string) string {
	if s, ok := closest(k, known); ok {
		return fmt.Sprintf("; did you mean %q?", s)
	}
	return ""
}

// pluginTypeProblem says why v is not a value of the schema type typ, or
// "" if it is (or typ is one this check does not know).
func pluginTypeProblem(typ string, v any) string {
	switch typ {
	case "string":
		if _, ok := v.(string); !ok {
			return typeProblem("a string", v)
		}
	case "bool":
		if _, ok := v.(bool); !ok {
			return typeProblem("a boolean (true or false)", v)
		}
	case "int":
		switch v.(type) {
		case int, int64, uint64:
		default:
			return typeProblem("a whole number", v)
		}
	case "duration":
		switch x := v.(type) {
		case string:
			if _, err := time.ParseDuration(x); err != nil {
				return fmt.Sprintf("%q is not a duration such as \"5s\" or \"250ms\"", x)
			}
		case int, int64, uint64:
		default:
			return typeProblem("a duration such as \"5s\"", v)
		}
	case "[]string":
		list, ok := v.([]any)
		if !ok {
			return typeProblem("a list of strings", v)
		}
		for _, e := range list {
			if _, ok := e.(string); !ok {
				return typeProblem("a list of strings", v)
			}
		}
	}
	if _, err := json.Marshal(v); err != nil {
		return "cannot be passed to the plugin as JSON"
	}
	return ""
}

// sortByLine orders validation errors by file, then line.
func sortByLine(errs []error) {
	slices.SortStableFunc(errs, func(a, b error) int {
		va, _ := a.(*ValidationError)
		vb, _ := b.(*ValidationError)
		if va == nil || vb == nil {
			return 0
		}
		return cmp.Or(cmp.Compare(va.File, vb.File), cmp.Compare(va.Line, vb.Line))
	})
}
