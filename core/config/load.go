package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"

	"github.com/ferry-p2p/ferry/configs"
	homedir "github.com/ferry-p2p/ferry/core/home"
)

// embeddedName is the name of the built-in default layer in messages.
const embeddedName = "embedded default"

// maxFileSize bounds a config file; real ones are a few KiB.
const maxFileSize = 4 << 20

// LoadOptions says where [Load] finds its layers.
type LoadOptions struct {
	// Home is the Ferry home folder. Empty means [ResolveHome] of Env.
	Home string
	// File is an explicit config file path (from --config, say). Empty
	// means: a changed "config" flag in Flags, else FERRY_CONFIG in Env,
	// else <Home>/ferry.yaml if it exists, else no file.
	File string
	// Env is the environment as "KEY=value" strings. Nil means
	// os.Environ(); pass an empty, non-nil slice for none.
	Env []string
	// Flags, if set, is the parsed command line. A flag named
	// [FlagName](key) for a key in [Keys] overrides every other layer, but
	// only when it was set on the command line (pflag's Changed). String
	// slice flags give lists; other flags' text is split at commas for a
	// list key.
	Flags *pflag.FlagSet
}

// Load builds the configuration from the embedded default, one config file,
// FERRY_* environment variables and flags, in that order of precedence (see
// the package documentation), and validates it.
//
// An error for a problem in the settings is a [*ValidationError], or several
// joined with [errors.Join]; other errors (an unreadable file, a YAML syntax
// error) are wrapped with context.
func Load(opts LoadOptions) (*Config, error) {
	env := opts.Env
	if env == nil {
		env = os.Environ()
	}
	vars := homedir.Vars(env)
	home := opts.Home
	if home == "" {
		h, err := ResolveHome(env)
		if err != nil {
			return nil, fmt.Errorf("load config: %w", err)
		}
		home = h
	}

	def, err := parseYAML(embeddedName, configs.Default)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	layers := []*layer{def}
	file, err := findFile(opts, vars, home)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	if file != "" {
		l, err := readFileLayer(file)
		if err != nil {
			return nil, fmt.Errorf("load config: %w", err)
		}
		layers = append(layers, l)
	}
	envL, errs := envLayer(vars)
	layers = append(layers, envL)
	if opts.Flags != nil {
		flagL, ferrs := flagLayer(opts.Flags)
		layers = append(layers, flagL)
		errs = append(errs, ferrs...)
	}

	merged := map[string]any{}
	for _, l := range layers {
		errs = append(errs, checkLayer(l)...)
		errs = append(errs, resolvePaths(l, vars)...)
		mergeTree(merged, l.tree)
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}

	c, err := decode(merged)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	c.home, c.source, c.layers = home, file, layers
	applyPluginEnv(c, vars)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// ResolveHome returns the Ferry home folder: FERRY_HOME from env if set,
// else .config/ferry in the user's home folder (HOME from env, else
// [os.UserHomeDir]). The result is absolute.
func ResolveHome(env []string) (string, error) {
	return homedir.Resolve(env)
}

// findFile picks the config file: see [LoadOptions.File]. It returns "" for
// none, and an absolute path otherwise.
func findFile(opts LoadOptions, vars map[string]string, home string) (string, error) {
	file := opts.File
	if file == "" && opts.Flags != nil {
		if f := opts.Flags.Lookup("config"); f != nil && f.Changed {
			file = f.Value.String()
		}
	}
	if file == "" {
		file = vars["FERRY_CONFIG"]
	}
	if file == "" {
		p := filepath.Join(home, "ferry.yaml")
		switch _, err := os.Stat(p); {
		case errors.Is(err, fs.ErrNotExist):
			return "", nil
		case err != nil:
			return "", fmt.Errorf("look for config file: %w", err)
		}
		file = p
	}
	abs, err := homedir.Expand(file, "", vars)
	if err != nil {
		return "", fmt.Errorf("config file %q: %w", file, err)
	}
	return abs, nil
}

// readFileLayer reads and parses a config file.
func readFileLayer(path string) (*layer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config file %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, &ValidationError{File: path, Problem: fmt.Sprintf("larger than %d bytes; is this the right file?", maxFileSize)}
	}
	l, err := parseYAML(path, data)
	if err != nil {
		return nil, err
	}
	l.base = filepath.Dir(path)
	return l, nil
}

// envLayer builds the layer of FERRY_* variables that name a key in [Keys].
// Empty variables, and FERRY_* variables that name no key, are ignored.
func envLayer(vars map[string]string) (*layer, []error) {
	l := newLayer("environment")
	var errs []error
	for _, lf := range leaves {
		name := EnvName(lf.key)
		s := vars[name]
		if s == "" {
			continue
		}
		from := place{file: "environment variable " + name}
		v, problem := parseText(lf.kind, s)
		if problem != "" {
			errs = append(errs, &ValidationError{File: from.file, Key: lf.key, Problem: problem})
			continue
		}
		setKey(l.tree, lf.key, v)
		l.set[lf.key] = from
	}
	return l, errs
}

// flagLayer builds the layer of changed flags that name a key in [Keys].
func flagLayer(fset *pflag.FlagSet) (*layer, []error) {
	l := newLayer("flags")
	var errs []error
	for _, lf := range leaves {
		f := fset.Lookup(FlagName(lf.key))
		if f == nil || !f.Changed {
			continue
		}
		from := place{file: "flag --" + f.Name}
		var v any
		if sv, ok := f.Value.(pflag.SliceValue); ok && lf.kind == kindStrings {
			v = toAnyList(sv.GetSlice())
		} else {
			var problem string
			if v, problem = parseText(lf.kind, f.Value.String()); problem != "" {
				errs = append(errs, &ValidationError{File: from.file, Key: lf.key, Problem: problem})
				continue
			}
		}
		setKey(l.tree, lf.key, v)
		l.set[lf.key] = from
	}
	return l, errs
}

// parseText turns a variable's or flag's text into a tree value of kind k:
// lists are comma-separated, with blanks around items dropped. It returns a
// problem description instead when the text does not fit k.
func parseText(k kind, s string) (any, string) {
	switch k {
	case kindBool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Sprintf("wrong type: expected true or false, got %q", s)
		}
		return b, ""
	case kindInt:
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Sprintf("wrong type: expected a whole number, got %q", s)
		}
		return n, ""
	case kindStrings:
		var list []string
		for _, e := range strings.Split(s, ",") {
			if e = strings.TrimSpace(e); e != "" {
				list = append(list, e)
			}
		}
		return toAnyList(list), ""
	default:
		return s, ""
	}
}

func toAnyList(s []string) []any {
	out := make([]any, len(s))
	for i, e := range s {
		out[i] = e
	}
	return out
}

// resolvePaths makes the layer's path values absolute: a leading "~" means
// the user's home; a relative path is relative to the layer's base folder
// (a config file's folder) or the current folder.
func resolvePaths(l *layer, vars map[string]string) []error {
	var errs []error
	for _, lf := range leaves {
		if !lf.path {
			continue
		}
		v, ok := getKey(l.tree, lf.key)
		s, isString := v.(string)
		if !ok || !isString || s == "" {
			continue
		}
		abs, err := homedir.Expand(s, l.base, vars)
		if err != nil {
			e := l.errorAt(lf.key, "cannot resolve path")
			e.Err = err
			errs = append(errs, e)
			continue
		}
		setKey(l.tree, lf.key, abs)
	}
	return errs
}

// decode turns the merged, checked tree into a Config and fills the
// per-instance defaults: enabled true, plugin = name, config {}, lower-case
// sha256.
func decode(tree map[string]any) (*Config, error) {
	if v, ok := getKey(tree, "plugins.instances"); ok {
		list, _ := v.([]any) // checked by checkLayer
		for _, e := range list {
			if m, ok := e.(map[string]any); ok && !containsKey(m, "enabled") {
				m["enabled"] = true
			}
		}
	}
	c := &Config{}
	d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:      c,
		ErrorUnused: true,
		TagName:     "mapstructure",
	})
	if err != nil {
		return nil, fmt.Errorf("new decoder: %w", err)
	}
	if err := d.Decode(tree); err != nil {
		return nil, fmt.Errorf("decode merged config: %w", err)
	}
	for i := range c.Plugins.Instances {
		in := &c.Plugins.Instances[i]
		if in.Plugin == "" {
			in.Plugin = in.Name
		}
		if in.Config == nil {
			in.Config = map[string]any{}
		}
		in.SHA256 = strings.ToLower(in.SHA256)
	}
	return c, nil
}

// pluginEnv are the environment variables that set options of every
// instance of one plugin, above the config file: deployment settings that
// operators swap per machine without editing the file.
var pluginEnv = []struct {
	name, plugin string
	// set puts the variable's value raw (trimmed, not empty) into an
	// instance's config.
	set func(cfg map[string]any, raw string)
}{
	// FERRY_DHT_BOOTSTRAP: the dht plugin's bootstrap multiaddrs,
	// comma-separated.
	{"FERRY_DHT_BOOTSTRAP", "dht", func(cfg map[string]any, raw string) { cfg["bootstrap"] = commaList(raw) }},
	// FERRY_ICE_SERVERS: the ice plugin's STUN and TURN servers,
	// comma-separated stun: and turn: URIs, which replace both lists.
	{"FERRY_ICE_SERVERS", "ice", func(cfg map[string]any, raw string) {
		stun, turn := []any{}, []any{}
		for _, u := range commaList(raw) {
			if s := u.(string); strings.HasPrefix(strings.ToLower(s), "turn") {
				turn = append(turn, s)
			} else {
				stun = append(stun, s)
			}
		}
		cfg["stun_servers"], cfg["turn_servers"] = stun, turn
	}},
	// FERRY_ICE_TURN_USER and FERRY_ICE_TURN_PASSWORD: the TURN
	// credentials, kept out of the config file.
	{"FERRY_ICE_TURN_USER", "ice", func(cfg map[string]any, raw string) { cfg["turn_username"] = raw }},
	{"FERRY_ICE_TURN_PASSWORD", "ice", func(cfg map[string]any, raw string) { cfg["turn_password"] = raw }},
}

// commaList splits a comma-separated value, dropping blanks.
func commaList(raw string) []any {
	var list []any
	for _, s := range strings.Split(raw, ",") {
		if s = strings.TrimSpace(s); s != "" {
			list = append(list, s)
		}
	}
	return list
}

// applyPluginEnv applies the set [pluginEnv] variables to c.
func applyPluginEnv(c *Config, vars map[string]string) {
	for _, pe := range pluginEnv {
		raw := strings.TrimSpace(vars[pe.name])
		if raw == "" {
			continue
		}
		for i := range c.Plugins.Instances {
			in := &c.Plugins.Instances[i]
			if in.Plugin != pe.plugin && (in.Plugin != "" || in.Name != pe.plugin) {
				continue
			}
			if in.Config == nil {
				in.Config = map[string]any{}
			}
			pe.set(in.Config, raw)
		}
	}
}
