package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// A tree is one layer's raw settings: nested map[string]any, []any and
// scalars (string, int, uint64, float64, bool), as YAML decodes them.

// maxNodes bounds the YAML nodes one file may expand to, aliases included,
// so a small file cannot make the loader build a huge tree.
const maxNodes = 100_000

// place says where a value was set.
type place struct {
	file string // config file, "embedded default", "environment variable X" or "flag --x"
	line int    // 0 when unknown
}

// layer is one source of settings.
type layer struct {
	name string           // file path, embeddedName, "environment" or "flags"
	base string           // folder relative paths are resolved against; "" = current folder
	tree map[string]any   // the settings
	set  map[string]place // every key path the layer sets
}

// newLayer returns an empty layer.
func newLayer(name string) *layer {
	return &layer{name: name, tree: map[string]any{}, set: map[string]place{}}
}

// errorAt returns a validation error for key located in this layer.
func (l *layer) errorAt(key, problem string) *ValidationError {
	p, ok := l.set[key]
	if !ok {
		p = place{file: l.name}
	}
	return &ValidationError{File: p.file, Line: p.line, Key: key, Problem: problem}
}

// parseYAML reads a YAML document into a layer named name. A syntax error
// is returned wrapped; problems with the document's structure (duplicate or
// non-string keys, a top level that is not a mapping) are returned as
// validation errors joined together.
func parseYAML(name string, data []byte) (*layer, error) {
	l := newLayer(name)
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind == 0 || root.Kind == yaml.DocumentNode || (root.Kind == yaml.ScalarNode && root.Tag == "!!null") {
		return l, nil // empty document: sets nothing
	}
	if root.Kind != yaml.MappingNode {
		return nil, &ValidationError{File: name, Line: root.Line, Problem: "the top level must be a mapping of keys to values"}
	}
	c := converter{name: name, set: l.set}
	tree := c.convert(root, "")
	if len(c.errs) > 0 {
		return nil, joinErrors(c.errs)
	}
	l.tree, _ = tree.(map[string]any) // the root is a mapping, so this holds
	return l, nil
}

// converter turns yaml.Nodes into a tree, recording where each key is set.
type converter struct {
	name  string
	set   map[string]place
	nodes int
	errs  []error
}

func (c *converter) fail(key string, line int, problem string, err error) {
	c.errs = append(c.errs, &ValidationError{File: c.name, Line: line, Key: key, Problem: problem, Err: err})
}

// convert returns the tree value of n found at path; it records problems in
// c.errs and returns nil for values it cannot convert.
func (c *converter) convert(n *yaml.Node, path string) any {
	c.nodes++
	if c.nodes > maxNodes {
		if c.nodes == maxNodes+1 {
			c.fail(path, n.Line, fmt.Sprintf("document expands to more than %d values (aliases included)", maxNodes), nil)
		}
		return nil
	}
	if path != "" {
		if _, ok := c.set[path]; !ok {
			c.set[path] = place{file: c.name, line: n.Line}
		}
	}
	switch n.Kind {
	case yaml.AliasNode:
		return c.convert(n.Alias, path)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.AliasNode {
				k = k.Alias
			}
			switch {
			case k.Kind != yaml.ScalarNode:
				c.fail(path, k.Line, "mapping keys must be plain strings", nil)
				continue
			case k.Tag == "!!merge":
				c.fail(path, k.Line, "YAML merge keys (<<) are not supported; write the keys out", nil)
				continue
			}
			key := joinKey(path, k.Value)
			if first, dup := c.set[key]; dup && containsKey(m, k.Value) {
				c.fail(key, k.Line, fmt.Sprintf("duplicate key (first set at line %d)", first.line), nil)
				continue
			}
			c.set[key] = place{file: c.name, line: k.Line}
			m[k.Value] = c.convert(v, key)
		}
		return m
	case yaml.SequenceNode:
		list := make([]any, len(n.Content))
		for i, e := range n.Content {
			list[i] = c.convert(e, indexKey(path, i))
		}
		return list
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			c.fail(path, n.Line, "cannot decode value", err)
			return nil
		}
		return v
	default:
		c.fail(path, n.Line, fmt.Sprintf("unexpected YAML node kind %d", n.Kind), nil)
		return nil
	}
}

func containsKey(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}

// mergeTree merges src into dst: mappings merge key by key, anything else in
// src replaces dst's value. Values taken from src are deep copies.
func mergeTree(dst, src map[string]any) {
	for k, sv := range src {
		if sm, ok := sv.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeTree(dm, sm)
				continue
			}
		}
		dst[k] = deepCopy(sv)
	}
}

// deepCopy copies the maps and lists of a tree value.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	default:
		return v
	}
}

// getKey returns the value at a dotted path (no list indexes) of a tree.
func getKey(tree map[string]any, key string) (any, bool) {
	m := tree
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			return nil, false
		}
		m = next
	}
	v, ok := m[parts[len(parts)-1]]
	return v, ok
}

// setKey sets the value at a dotted path (no list indexes) of a tree,
// creating mappings on the way.
func setKey(tree map[string]any, key string, v any) {
	m := tree
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

// sortedKeys returns m's keys in order, so problems are reported in a
// stable order.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// joinErrors joins errs with errors.Join, but returns a single error as it
// is.
func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}
