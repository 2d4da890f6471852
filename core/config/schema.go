package config

import (
	"fmt"
	"reflect"
	"strings"
)

// kind is the shape a key's value must have.
type kind int

const (
	kindString      kind = iota + 1 // a string
	kindBool                        // a boolean
	kindInt                         // a whole number
	kindStrings                     // a list of strings
	kindSection                     // a mapping with fixed keys
	kindSectionList                 // a list of mappings with fixed keys
	kindFree                        // a mapping with any keys and values
)

// field is one key of a section.
type field struct {
	key  string
	kind kind
	path bool     // value is a file system path (struct tag ferry:"path")
	sub  *section // for kindSection and kindSectionList
}

// section is the schema of a mapping with fixed keys, in declaration order.
type section struct {
	fields []field
}

// rootSchema is the schema of the whole configuration, derived from the
// mapstructure tags of [Config] so the two cannot drift apart.
var rootSchema = sectionOf(reflect.TypeFor[Config]())

// sectionOf derives a section from a struct type. It panics on a field type
// the loader cannot check: that is a programming error in this package,
// caught by every test, never a problem with input.
func sectionOf(t reflect.Type) *section {
	s := &section{}
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("mapstructure"), ",")
		if !sf.IsExported() || name == "" || name == "-" {
			continue
		}
		f := field{key: name, path: sf.Tag.Get("ferry") == "path"}
		switch ft := sf.Type; {
		case ft.Kind() == reflect.String:
			f.kind = kindString
		case ft.Kind() == reflect.Bool:
			f.kind = kindBool
		case ft.Kind() == reflect.Int:
			f.kind = kindInt
		case ft.Kind() == reflect.Struct:
			f.kind, f.sub = kindSection, sectionOf(ft)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.String:
			f.kind = kindStrings
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			f.kind, f.sub = kindSectionList, sectionOf(ft.Elem())
		case ft.Kind() == reflect.Map && ft.Key().Kind() == reflect.String && ft.Elem().Kind() == reflect.Interface:
			f.kind = kindFree
		default:
			panic(fmt.Sprintf("config: field %s.%s has unsupported type %s", t.Name(), sf.Name, ft))
		}
		s.fields = append(s.fields, f)
	}
	return s
}

// field returns the field with the given key.
func (s *section) field(key string) (field, bool) {
	for _, f := range s.fields {
		if f.key == key {
			return f, true
		}
	}
	return field{}, false
}

// keys returns the section's keys in declaration order.
func (s *section) keys() []string {
	out := make([]string, len(s.fields))
	for i, f := range s.fields {
		out[i] = f.key
	}
	return out
}

// leaf is a key that environment variables and flags can set: a scalar or
// list of strings outside any list of sections.
type leaf struct {
	key string // dotted path, e.g. "log.level"
	field
}

// leaves lists the settable keys of the root schema in declaration order.
var leaves = leavesOf(rootSchema, "")

func leavesOf(s *section, prefix string) []leaf {
	var out []leaf
	for _, f := range s.fields {
		key := joinKey(prefix, f.key)
		switch f.kind {
		case kindSection:
			out = append(out, leavesOf(f.sub, key)...)
		case kindString, kindBool, kindInt, kindStrings:
			out = append(out, leaf{key: key, field: f})
		case kindSectionList, kindFree:
			// Not expressible as one variable or flag.
		}
	}
	return out
}

// Keys returns the dotted key paths that FERRY_* environment variables and
// flags can set, such as "log.level" and "transfer.auto_accept". Lists of
// plugin instances can be set only in a config file.
func Keys() []string {
	out := make([]string, len(leaves))
	for i, l := range leaves {
		out[i] = l.key
	}
	return out
}

// EnvName returns the environment variable that sets key: "FERRY_" and the
// key in upper case with "." replaced by "_", e.g. FERRY_LOG_LEVEL for
// log.level and FERRY_PLUGINS_LOCK_FILE for plugins.lock_file.
func EnvName(key string) string {
	return "FERRY_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// FlagName returns the name of the flag that sets key: the key with "." and
// "_" replaced by "-", e.g. "log-level" for log.level and
// "plugins-lock-file" for plugins.lock_file.
func FlagName(key string) string {
	return strings.NewReplacer(".", "-", "_", "-").Replace(key)
}

// joinKey appends key to a dotted path.
func joinKey(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// indexKey appends a list index to a path.
func indexKey(prefix string, i int) string {
	return fmt.Sprintf("%s[%d]", prefix, i)
}

// parentKey strips the last element (".key" or "[i]") from a path; it
// returns "" for a top-level key.
func parentKey(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}
