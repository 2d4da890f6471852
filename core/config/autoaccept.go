package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/ferry-p2p/ferry/sdk"
)

// File returns the config file that was loaded, or "" when there was none
// (the embedded default only).
func (c *Config) File() string { return c.source }

// DefaultFile returns the config file Load looks for when neither --config
// nor FERRY_CONFIG names one: ferry.yaml in the Ferry home.
func (c *Config) DefaultFile() string { return filepath.Join(c.home, "ferry.yaml") }

// AddAutoAccept adds id to transfer.auto_accept in the config file at path
// (the receiver's "always accept this device"), creating the file, and the
// keys, if missing. An ID already listed, in any spelling, is not added
// twice. The file is rewritten atomically, through the YAML document
// tree, so comments stay; its indentation becomes two spaces. A file that
// does not parse is left alone and an error returned.
func AddAutoAccept(path string, id sdk.PeerID) error {
	data, err := os.ReadFile(path)
	mode := os.FileMode(0o600)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("add to transfer.auto_accept: %w", err)
	default:
		if st, err := os.Stat(path); err == nil {
			mode = st.Mode().Perm()
		}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("add to transfer.auto_accept: parse %s: %w", path, err)
	}
	var prefix []byte // a file of comments only: kept as it is, before the new keys
	if doc.Kind == 0 {
		if prefix = bytes.TrimRight(data, "\n"); len(prefix) > 0 {
			prefix = append(prefix, '\n')
		}
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		*root = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", HeadComment: root.HeadComment, LineComment: root.LineComment, FootComment: root.FootComment}
	}
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("add to transfer.auto_accept: %s: the top level is not a mapping", path)
	}
	transfer, err := mappingValue(root, "transfer", yaml.MappingNode, path)
	if err != nil {
		return err
	}
	list, err := mappingValue(transfer, "auto_accept", yaml.SequenceNode, path)
	if err != nil {
		return err
	}
	for _, e := range list.Content {
		if have, err := sdk.ParsePeerID(e.Value); err == nil && have == id {
			return nil
		}
	}
	list.Content = append(list.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: id.String()})
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("add to transfer.auto_accept: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("add to transfer.auto_accept: %w", err)
	}
	if err := writeAtomic(path, append(prefix, buf.Bytes()...), mode); err != nil {
		return fmt.Errorf("add to transfer.auto_accept: %w", err)
	}
	return nil
}

// mappingValue returns the value of key in mapping m, adding it (of kind
// want) if missing; a null or empty value becomes an empty one of kind
// want. A value of another kind is an error naming its line.
func mappingValue(m *yaml.Node, key string, want yaml.Kind, path string) (*yaml.Node, error) {
	tag := map[yaml.Kind]string{yaml.MappingNode: "!!map", yaml.SequenceNode: "!!seq"}[want]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != key {
			continue
		}
		v := m.Content[i+1]
		switch {
		case v.Kind == yaml.ScalarNode && (v.Tag == "!!null" || v.Value == ""):
			*v = yaml.Node{Kind: want, Tag: tag, Line: v.Line, LineComment: v.LineComment}
		case v.Kind == want && len(v.Content) == 0:
			v.Style = 0 // "[]" or "{}" becomes a block, to append to
		case v.Kind != want:
			return nil, fmt.Errorf("add to transfer.auto_accept: %s:%d: %s is not a %s", path, v.Line, key, map[yaml.Kind]string{yaml.MappingNode: "mapping", yaml.SequenceNode: "list"}[want])
		}
		return v, nil
	}
	v := &yaml.Node{Kind: want, Tag: tag}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
	return v, nil
}
