package config

import (
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/ferry-p2p/ferry/sdk"
)

func TestValidationErrors(t *testing.T) {
	tests := []struct {
		name     string
		file     string   // config file content; "" = no file
		env      []string // environment
		key      string   // the key the problem must name
		from     string   // where it came from: "file" = the config file, else exact
		line     int      // 0 = not checked
		contains []string // substrings of the message
	}{
		{
			name:     "unknown top-level key",
			file:     "device: {name: x}\ntransport: [tcp]\n",
			key:      "transport",
			from:     "file",
			line:     2,
			contains: []string{`did you mean "transports"?`, "valid top-level keys: device, log, plugins, discovery"},
		},
		{
			name: "unknown nested key in an instance",
			file: `
plugins:
  instances:
    - name: tcp
      sha265: ""
`,
			key:      "plugins.instances[0].sha265",
			from:     "file",
			line:     5,
			contains: []string{"unknown key", `did you mean "sha256"?`, "name, plugin, builtin, enabled, sha256, config"},
		},
		{
			name: "negative transport priority",
			file: `
plugins:
  instances:
    - name: tcp
      priority: -5
`,
			key:      "plugins.instances[0].priority",
			from:     "file",
			contains: []string{"-5 is not a priority", "lower is preferred"},
		},
		{
			name: "priority that is not a number",
			file: `
plugins:
  instances:
    - name: tcp
      priority: high
`,
			key:      "plugins.instances[0].priority",
			from:     "file",
			contains: []string{"a whole number"},
		},
		{
			name:     "unknown key, no close match",
			file:     "log:\n  colour: true\n",
			key:      "log.colour",
			from:     "file",
			contains: []string{"unknown key (valid keys here: level, format)"},
		},
		{
			name:     "keys are case-sensitive",
			file:     "Log: {level: info}\n",
			key:      "Log",
			from:     "file",
			contains: []string{`did you mean "log"?`},
		},
		{
			name:     "wrong type: number for string",
			file:     "device:\n  name: 42\n",
			key:      "device.name",
			from:     "file",
			line:     2,
			contains: []string{"expected a string, got 42 (an integer)", "quotes"},
		},
		{
			name:     "wrong type: string for list",
			file:     "transports: tcp\n",
			key:      "transports",
			from:     "file",
			contains: []string{`expected a list of strings, got "tcp" (a string)`, "[tcp]"},
		},
		{
			name:     "wrong type: string for bool",
			file:     "plugins:\n  instances:\n    - {name: tcp, enabled: \"no\"}\n",
			key:      "plugins.instances[0].enabled",
			from:     "file",
			contains: []string{"expected a boolean", `got "no" (a string)`},
		},
		{
			name:     "wrong type: scalar for section",
			file:     "log: debug\n",
			key:      "log",
			from:     "file",
			contains: []string{"expected a mapping with keys level, format", `got "debug"`},
		},
		{
			name:     "wrong type: list element",
			file:     "discovery: [lan, 7]\n",
			key:      "discovery[1]",
			from:     "file",
			contains: []string{"expected a string, got 7"},
		},
		{
			name:     "wrong type: instance config",
			file:     "plugins:\n  instances:\n    - {name: tcp, config: [1]}\n",
			key:      "plugins.instances[0].config",
			from:     "file",
			contains: []string{"expected a mapping, got a list of 1"},
		},
		{
			name:     "bad log level in file",
			file:     "log: {level: verbose}\n",
			key:      "log.level",
			from:     "file",
			contains: []string{`"verbose" is not one of debug, info, warn, error`},
		},
		{
			name:     "bad log format from env",
			env:      []string{"FERRY_LOG_FORMAT=xml"},
			key:      "log.format",
			from:     "environment variable FERRY_LOG_FORMAT",
			contains: []string{`"xml" is not one of text, json`},
		},
		{
			name:     "bad sha256",
			file:     "plugins:\n  instances:\n    - {name: lan}\n    - {name: tcp, sha256: deadbeef}\n    - {name: ftv2a}\n",
			key:      "plugins.instances[1].sha256",
			from:     "file",
			line:     4,
			contains: []string{`"deadbeef" is not a sha256 pin`, "64 hex digits"},
		},
		{
			name:     "sha256 with a non-hex digit",
			file:     "plugins:\n  instances:\n    - {name: lan}\n    - {name: tcp, sha256: " + strings.Repeat("g", 64) + "}\n    - {name: ftv2a}\n",
			key:      "plugins.instances[1].sha256",
			from:     "file",
			contains: []string{"is not a sha256 pin"},
		},
		{
			name:     "role names a missing instance",
			file:     "transports: [tcp, ice]\n",
			key:      "transports[1]",
			from:     "file",
			contains: []string{`"ice" is not an instance in plugins.instances`, "instances: lan, tcp, ftv2a"},
		},
		{
			name:     "role names a missing instance: suggestion",
			env:      []string{"FERRY_DISCOVERY=lam"},
			key:      "discovery[0]",
			from:     "environment variable FERRY_DISCOVERY",
			contains: []string{`did you mean "lan"?`},
		},
		{
			name:     "default role list after the file replaced instances",
			file:     "plugins:\n  instances:\n    - {name: tcp}\n    - {name: ftv2a}\n",
			key:      "discovery[0]",
			from:     "embedded default",
			contains: []string{`"lan" is not an instance`, "replaces the default list, so set discovery there too"},
		},
		{
			name:     "role names a disabled instance",
			file:     "plugins:\n  instances:\n    - {name: lan}\n    - {name: tcp, enabled: false}\n    - {name: ftv2a}\n",
			key:      "transports[0]",
			from:     "embedded default",
			contains: []string{`instance "tcp" is disabled`},
		},
		{
			name:     "role lists an instance twice",
			file:     "protocols: [ftv2a, ftv2a]\n",
			key:      "protocols[1]",
			from:     "file",
			contains: []string{"listed twice"},
		},
		{
			name:     "duplicate instance name",
			file:     "plugins:\n  instances:\n    - {name: lan}\n    - {name: tcp}\n    - {name: ftv2a}\n    - {name: tcp}\n",
			key:      "plugins.instances[3].name",
			from:     "file",
			line:     6,
			contains: []string{`duplicate instance name "tcp" (also plugins.instances[1])`},
		},
		{
			name:     "bad instance name",
			file:     "plugins:\n  instances:\n    - {name: lan}\n    - {name: TCP_1}\n    - {name: ftv2a}\n",
			key:      "plugins.instances[1].name",
			from:     "file",
			contains: []string{`"TCP_1" is not a valid instance name`, "a-z, 0-9 and -"},
		},
		{
			name:     "missing instance name",
			file:     "plugins:\n  instances:\n    - {name: lan}\n    - {plugin: tcp}\n    - {name: ftv2a}\n",
			key:      "plugins.instances[1].name",
			from:     "file",
			contains: []string{"needs a name"},
		},
		{
			name:     "plugin is a path",
			file:     "plugins:\n  instances:\n    - {name: lan, plugin: ../lan}\n    - {name: tcp}\n    - {name: ftv2a}\n",
			key:      "plugins.instances[0].plugin",
			from:     "file",
			contains: []string{"not a path"},
		},
		{
			name:     "bad auto_accept peer ID",
			file:     "transfer:\n  auto_accept: [not-a-peer]\n",
			key:      "transfer.auto_accept[0]",
			from:     "file",
			contains: []string{"not a valid peer ID", "invalid peer id"},
		},
		{
			name:     "bad auto_accept account ID",
			file:     "transfer:\n  auto_accept: [acct-AAAA]\n",
			key:      "transfer.auto_accept[0]",
			from:     "file",
			contains: []string{"not a valid account ID", "invalid account id"},
		},
		{
			name:     "connect.stagger not a duration",
			file:     "connect:\n  stagger: soon\n",
			key:      "connect.stagger",
			from:     "file",
			contains: []string{"not a duration"},
		},
		{
			name:     "connect.fallback too long",
			file:     "connect:\n  fallback: 2h\n",
			key:      "connect.fallback",
			from:     "file",
			contains: []string{"not between 0s and 1m0s"},
		},
		{
			name:     "duplicate YAML key",
			file:     "log:\n  level: info\n  level: debug\n",
			key:      "log.level",
			from:     "file",
			line:     3,
			contains: []string{"duplicate key (first set at line 2)"},
		},
		{
			name:     "top level not a mapping",
			file:     "- a\n- b\n",
			from:     "file",
			contains: []string{"top level must be a mapping"},
		},
		{
			name:     "YAML merge key",
			file:     "base: &b {level: info}\nlog:\n  <<: *b\n",
			key:      "log",
			from:     "file",
			contains: []string{"merge keys"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := LoadOptions{Env: tt.env}
			var path string
			if tt.file != "" {
				path = writeFile(t, t.TempDir(), "ferry.yaml", tt.file)
				opts.File = path
			}
			err := loadErr(t, opts)
			ve := findProblem(t, err, tt.key)
			want := tt.from
			if want == "file" {
				want = path
			}
			if ve.File != want {
				t.Errorf("File = %q, want %q", ve.File, want)
			}
			if tt.line != 0 && ve.Line != tt.line {
				t.Errorf("Line = %d, want %d", ve.Line, tt.line)
			}
			wantContains(t, ve.Error(), tt.contains...)
			wantContains(t, err.Error(), want, tt.key)
		})
	}
}

func TestValidationErrorAs(t *testing.T) {
	p := writeFile(t, t.TempDir(), "ferry.yaml", "log: {level: loud, format: yaml}\n")
	err := loadErr(t, LoadOptions{File: p})
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("errors.As(%v) found no *ValidationError", err)
	}
	if n := len(validationErrors(t, err)); n != 2 {
		t.Errorf("got %d problems, want 2 (all reported at once): %v", n, err)
	}
	if ve.File != p || ve.Line != 1 {
		t.Errorf("first problem at %s:%d, want %s:1", ve.File, ve.Line, p)
	}
}

func TestValidationErrorUnwrap(t *testing.T) {
	p := writeFile(t, t.TempDir(), "ferry.yaml", "transfer: {auto_accept: [x]}\n")
	err := loadErr(t, LoadOptions{File: p})
	if !errors.Is(err, sdk.ErrInvalidPeerID) {
		t.Errorf("errors.Is(%v, sdk.ErrInvalidPeerID) = false", err)
	}
}

func TestValidationErrorFormat(t *testing.T) {
	tests := []struct {
		e    ValidationError
		want string
	}{
		{ValidationError{File: "f.yaml", Line: 3, Key: "a.b", Problem: "bad"}, "f.yaml:3: a.b: bad"},
		{ValidationError{File: "f.yaml", Problem: "bad"}, "f.yaml: bad"},
		{ValidationError{File: "flag --x", Key: "x", Problem: "bad", Err: sdk.ErrInvalidPeerID}, "flag --x: x: bad: invalid peer id"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestYAMLSyntaxError(t *testing.T) {
	p := writeFile(t, t.TempDir(), "ferry.yaml", "log:\n  level: [info\n")
	err := loadErr(t, LoadOptions{File: p})
	wantContains(t, err.Error(), p, "line")
}

func TestAutoAcceptValid(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := sdk.PeerIDFromKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	lower := strings.ToLower(id.String())
	acct := "acct-" + id.String() // an account ID: the same key, as an account
	c := mustLoad(t, LoadOptions{Env: []string{"FERRY_TRANSFER_AUTO_ACCEPT=" + id.String() + "," + lower + "," + acct}})
	if len(c.Transfer.AutoAccept) != 3 {
		t.Errorf("auto_accept = %q", c.Transfer.AutoAccept)
	}
}

func TestFlagErrorNamesFlag(t *testing.T) {
	fs := pflag.NewFlagSet("ferry", pflag.ContinueOnError)
	fs.String("log-format", "", "")
	if err := fs.Parse([]string{"--log-format", "xml"}); err != nil {
		t.Fatal(err)
	}
	err := loadErr(t, LoadOptions{Flags: fs})
	ve := findProblem(t, err, "log.format")
	if ve.File != "flag --log-format" {
		t.Errorf("File = %q, want flag --log-format", ve.File)
	}
}

func TestValidateInCode(t *testing.T) {
	c := mustLoad(t, LoadOptions{})
	c.Log.Level = "trace"
	c.Plugins.Instances[1].SHA256 = "xyz"
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad level and pin")
	}
	findProblem(t, err, "log.level")
	findProblem(t, err, "plugins.instances[1].sha256")

	var zero Config
	zero.Log = Log{Level: "info", Format: "text"}
	if err := zero.Validate(); err != nil {
		t.Errorf("Validate of a minimal Config: %v", err)
	}
	bad := Config{Discovery: []string{"lan"}}
	ve := findProblem(t, bad.Validate(), "discovery[0]")
	if ve.File != "config" {
		t.Errorf("File = %q, want config (built in code)", ve.File)
	}
}

func TestClosest(t *testing.T) {
	cands := []string{"name", "plugin", "builtin", "enabled", "sha256", "config", "lock_file", "instances"}
	tests := []struct {
		in, want string
	}{
		{"sha265", "sha256"}, {"nmae", "name"}, {"plugins", "plugin"}, {"lock-file", "lock_file"},
		{"Enabled", "enabled"}, {"instance", "instances"}, {"confg", "config"},
		{"xyz", ""}, {"verbose", ""},
	}
	for _, tt := range tests {
		got, ok := closest(tt.in, cands)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("closest(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

func TestEmbeddedDefaultLines(t *testing.T) {
	// A problem in a value taken from the embedded default points into it.
	c := mustLoad(t, LoadOptions{})
	p := c.locate("log.level")
	if p.file != embeddedName || p.line == 0 {
		t.Errorf("locate(log.level) = %+v, want a line of the embedded default", p)
	}
	if got := filepath.Base(c.Source()); got != "embedded default" {
		t.Errorf("Source() = %q", got)
	}
}

func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 8; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	p := writeFile(t, t.TempDir(), "ferry.yaml", b.String())
	err := loadErr(t, LoadOptions{File: p})
	wantContains(t, err.Error(), "more than 100000 values")
}
