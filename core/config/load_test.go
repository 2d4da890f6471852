package config

import (
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/spf13/pflag"

	"github.com/ferry-p2p/ferry/configs"
	"github.com/ferry-p2p/ferry/sdk"
)

func TestLoadEmbeddedDefault(t *testing.T) {
	home := t.TempDir()
	c := mustLoad(t, LoadOptions{Home: home})
	if got := c.Source(); got != "embedded default" {
		t.Errorf("Source() = %q, want embedded default", got)
	}
	if c.Log.Level != "info" || c.Log.Format != "text" {
		t.Errorf("log = %+v, want info/text", c.Log)
	}
	for role, want := range map[sdk.Role][]string{
		sdk.RoleDiscovery: {"lan"},
		sdk.RoleSignaling: {"lan"},
		sdk.RoleTransport: {"tcp"},
		sdk.RoleProtocol:  {"ftv2a", "jsonchunk"},
	} {
		if got := c.RoleNames(role); !reflect.DeepEqual(got, want) {
			t.Errorf("RoleNames(%v) = %q, want %q", role, got, want)
		}
		if got := c.Role(role); len(got) != len(want) || got[0].Name != want[0] || !got[0].Enabled {
			t.Errorf("Role(%v) = %+v", role, got)
		}
	}
	tcp, ok := c.Instance("tcp")
	if !ok {
		t.Fatal("no tcp instance")
	}
	if want := []any{"0.0.0.0:0", "[::]:0"}; !reflect.DeepEqual(tcp.Config["listen"], want) {
		t.Errorf("tcp listen = %v, want %v", tcp.Config["listen"], want)
	}
	if got, want := c.TransferDir(), filepath.Join(home, "received"); got != want {
		t.Errorf("TransferDir() = %q, want %q", got, want)
	}
	if c.Home() != home {
		t.Errorf("Home() = %q, want %q", c.Home(), home)
	}
	if c.DeviceName() == "" {
		t.Error("DeviceName() is empty")
	}
}

func TestLoadLoopback(t *testing.T) {
	p := writeFile(t, t.TempDir(), "loopback.yaml", string(configs.Loopback))
	c := mustLoad(t, LoadOptions{File: p})
	if c.Source() != p {
		t.Errorf("Source() = %q, want %q", c.Source(), p)
	}
	lan, _ := c.Instance("lan")
	if got, want := lan.Config["interfaces"], []any{"lo"}; !reflect.DeepEqual(got, want) {
		t.Errorf("lan interfaces = %v, want %v", got, want)
	}
	if got, want := lan.Config["broadcast_addresses"], []any{"127.255.255.255"}; !reflect.DeepEqual(got, want) {
		t.Errorf("lan broadcast_addresses = %v, want %v", got, want)
	}
	if got := lan.Config["multicast_group"]; got != "" {
		t.Errorf("lan multicast_group = %v, want empty (no multicast)", got)
	}
	tcp, _ := c.Instance("tcp")
	if got, want := tcp.Config["listen"], []any{"127.0.0.1:0"}; !reflect.DeepEqual(got, want) {
		t.Errorf("tcp listen = %v, want %v", got, want)
	}
}

func TestPrecedence(t *testing.T) {
	const file = "log:\n  level: warn\ndevice:\n  name: from-file\n"
	env := []string{"FERRY_LOG_LEVEL=error", "FERRY_DEVICE_NAME=from-env"}
	flags := []string{"--log-level=debug", "--device-name=from-flag"}
	tests := []struct {
		name      string
		file      bool
		env       []string
		args      []string
		wantLevel string
		wantName  string
		wantFrom  string // where log.level was set
	}{
		{name: "default", wantLevel: "info", wantName: "", wantFrom: "embedded default"},
		{name: "file over default", file: true, wantLevel: "warn", wantName: "from-file", wantFrom: "ferry.yaml"},
		{name: "env over file", file: true, env: env, wantLevel: "error", wantName: "from-env", wantFrom: "environment variable FERRY_LOG_LEVEL"},
		{name: "flag over env", file: true, env: env, args: flags, wantLevel: "debug", wantName: "from-flag", wantFrom: "flag --log-level"},
		{name: "env alone", env: env, wantLevel: "error", wantName: "from-env", wantFrom: "environment variable FERRY_LOG_LEVEL"},
		{name: "flag alone", args: flags, wantLevel: "debug", wantName: "from-flag", wantFrom: "flag --log-level"},
		{name: "unchanged flag does not override", file: true, env: env, args: []string{}, wantLevel: "error", wantName: "from-env", wantFrom: "environment variable FERRY_LOG_LEVEL"},
		{name: "empty env var is ignored", file: true, env: []string{"FERRY_LOG_LEVEL="}, wantLevel: "warn", wantName: "from-file", wantFrom: "ferry.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := LoadOptions{Env: tt.env}
			if tt.file {
				opts.File = writeFile(t, t.TempDir(), "ferry.yaml", file)
			}
			if tt.args != nil {
				fs := pflag.NewFlagSet("ferry", pflag.ContinueOnError)
				fs.String("log-level", "error", "") // a default that must not win
				fs.String("device-name", "default-flag", "")
				if err := fs.Parse(tt.args); err != nil {
					t.Fatal(err)
				}
				opts.Flags = fs
			}
			c := mustLoad(t, opts)
			if c.Log.Level != tt.wantLevel {
				t.Errorf("log.level = %q, want %q", c.Log.Level, tt.wantLevel)
			}
			if c.Device.Name != tt.wantName {
				t.Errorf("device.name = %q, want %q", c.Device.Name, tt.wantName)
			}
			if from := c.locate("log.level").file; filepath.Base(from) != tt.wantFrom && from != tt.wantFrom {
				t.Errorf("log.level set by %q, want %q", from, tt.wantFrom)
			}
		})
	}
}

func TestEnvAndFlagLists(t *testing.T) {
	fs := pflag.NewFlagSet("ferry", pflag.ContinueOnError)
	fs.StringSlice("protocols", nil, "")
	if err := fs.Parse([]string{"--protocols=ftv2a", "--protocols=ftv2a-copy"}); err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, t.TempDir(), "f.yaml", `
plugins:
  instances:
    - {name: lan}
    - {name: tcp}
    - {name: tcp2, plugin: tcp}
    - {name: ftv2a}
    - {name: ftv2a-copy, plugin: ftv2a}
`)
	c := mustLoad(t, LoadOptions{File: file, Env: []string{"FERRY_TRANSPORTS= tcp2, tcp ,"}, Flags: fs})
	if want := []string{"tcp2", "tcp"}; !reflect.DeepEqual(c.Transports, want) {
		t.Errorf("transports = %q, want %q", c.Transports, want)
	}
	if want := []string{"ftv2a", "ftv2a-copy"}; !reflect.DeepEqual(c.Protocols, want) {
		t.Errorf("protocols = %q, want %q", c.Protocols, want)
	}
}

func TestConfigFileLookup(t *testing.T) {
	dir := t.TempDir()
	explicit := writeFile(t, dir, "explicit.yaml", "device: {name: explicit}\n")
	viaFlag := writeFile(t, dir, "flag.yaml", "device: {name: flag}\n")
	viaEnv := writeFile(t, dir, "env.yaml", "device: {name: env}\n")
	homeWithFile := t.TempDir()
	inHome := writeFile(t, homeWithFile, "ferry.yaml", "device: {name: home}\n")
	emptyHome := t.TempDir()

	configFlag := func(v string) *pflag.FlagSet {
		fs := pflag.NewFlagSet("ferry", pflag.ContinueOnError)
		fs.String("config", "", "")
		if v != "" {
			if err := fs.Set("config", v); err != nil {
				t.Fatal(err)
			}
		}
		return fs
	}
	tests := []struct {
		name       string
		opts       LoadOptions
		wantName   string
		wantSource string
	}{
		{"File wins", LoadOptions{Home: homeWithFile, File: explicit, Flags: configFlag(viaFlag), Env: []string{"FERRY_CONFIG=" + viaEnv}}, "explicit", explicit},
		{"--config over FERRY_CONFIG", LoadOptions{Home: homeWithFile, Flags: configFlag(viaFlag), Env: []string{"FERRY_CONFIG=" + viaEnv}}, "flag", viaFlag},
		{"FERRY_CONFIG selects the file", LoadOptions{Home: homeWithFile, Flags: configFlag(""), Env: []string{"FERRY_CONFIG=" + viaEnv}}, "env", viaEnv},
		{"home ferry.yaml", LoadOptions{Home: homeWithFile}, "home", inHome},
		{"FERRY_HOME ferry.yaml", LoadOptions{Env: []string{"FERRY_HOME=" + homeWithFile}}, "home", inHome},
		{"no file", LoadOptions{Home: emptyHome}, "", "embedded default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(LoadOptions{Home: tt.opts.Home, File: tt.opts.File, Flags: tt.opts.Flags, Env: append([]string{}, tt.opts.Env...)})
			if err != nil {
				t.Fatal(err)
			}
			if c.Device.Name != tt.wantName || c.Source() != tt.wantSource {
				t.Errorf("got name %q from %q, want %q from %q", c.Device.Name, c.Source(), tt.wantName, tt.wantSource)
			}
		})
	}

	t.Run("missing explicit file is an error", func(t *testing.T) {
		err := loadErr(t, LoadOptions{File: filepath.Join(dir, "nope.yaml")})
		wantContains(t, err.Error(), "nope.yaml", "no such file")
	})
	t.Run("missing FERRY_CONFIG file is an error", func(t *testing.T) {
		loadErr(t, LoadOptions{Env: []string{"FERRY_CONFIG=" + filepath.Join(dir, "nope.yaml")}})
	})
}

func TestListsReplaceMapsMerge(t *testing.T) {
	p := writeFile(t, t.TempDir(), "ferry.yaml", `
log:
  format: json          # merges into log: level stays from the default
plugins:
  instances:            # replaces the three default instances
    - name: tcp
      config: {listen: ["127.0.0.1:0"]}
discovery: []
signaling: []
protocols: []
`)
	c := mustLoad(t, LoadOptions{File: p})
	if c.Log.Level != "info" || c.Log.Format != "json" {
		t.Errorf("log = %+v, want level info (default) and format json (file)", c.Log)
	}
	if len(c.Plugins.Instances) != 1 || c.Plugins.Instances[0].Name != "tcp" {
		t.Errorf("instances = %+v, want only tcp", c.Plugins.Instances)
	}
	if len(c.Discovery) != 0 || !reflect.DeepEqual(c.Transports, []string{"tcp"}) {
		t.Errorf("discovery %q transports %q", c.Discovery, c.Transports)
	}
}

func TestInstanceDefaults(t *testing.T) {
	p := writeFile(t, t.TempDir(), "ferry.yaml", `
plugins:
  instances:
    - name: lan
    - name: tcp
      plugin: tcp-v2
      builtin: true
      sha256: ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789
      config:
        CamelCase: {Nested: 1}
    - name: ftv2a
      enabled:            # null: not set, so the default (true)
    - name: spare
      enabled: false
protocols: [ftv2a]
`)
	c := mustLoad(t, LoadOptions{File: p})
	want := []PluginInstance{
		{Name: "lan", Plugin: "lan", Enabled: true, Config: map[string]any{}},
		{Name: "tcp", Plugin: "tcp-v2", Builtin: true, Enabled: true,
			SHA256: "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
			Config: map[string]any{"CamelCase": map[string]any{"Nested": 1}}},
		{Name: "ftv2a", Plugin: "ftv2a", Enabled: true, Config: map[string]any{}},
		{Name: "spare", Plugin: "spare", Enabled: false, Config: map[string]any{}},
	}
	if !reflect.DeepEqual(c.Plugins.Instances, want) {
		t.Errorf("instances =\n%+v\nwant\n%+v", c.Plugins.Instances, want)
	}
}

func TestPaths(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "ferry.yaml", "plugins:\n  dir: bin/plugins\ntransfer:\n  dir: ~/inbox\n")
	userHome := t.TempDir()
	c := mustLoad(t, LoadOptions{File: p, Env: []string{"HOME=" + userHome}})
	if want := filepath.Join(dir, "bin", "plugins"); c.Plugins.Dir != want {
		t.Errorf("plugins.dir = %q, want %q (relative to the file)", c.Plugins.Dir, want)
	}
	if want := filepath.Join(userHome, "inbox"); c.TransferDir() != want {
		t.Errorf("TransferDir() = %q, want %q", c.TransferDir(), want)
	}
	if got, want := c.PluginDir("/opt/ferry/ferry"), filepath.Join(dir, "bin", "plugins"); got != want {
		t.Errorf("PluginDir = %q, want %q", got, want)
	}
	if got, want := c.LockFile("/opt/ferry/ferry"), filepath.Join(dir, "bin", "plugins", "plugins.lock"); got != want {
		t.Errorf("LockFile = %q, want %q", got, want)
	}

	d := mustLoad(t, LoadOptions{})
	if got, want := d.PluginDir("/opt/ferry/ferry"), "/opt/ferry/plugins"; got != want {
		t.Errorf("default PluginDir = %q, want %q", got, want)
	}
	if got, want := d.LockFile("/opt/ferry/ferry"), "/opt/ferry/plugins/plugins.lock"; got != want {
		t.Errorf("default LockFile = %q, want %q", got, want)
	}
	e := mustLoad(t, LoadOptions{Env: []string{"FERRY_PLUGINS_LOCK_FILE=/etc/ferry/plugins.lock"}})
	if got, want := e.LockFile("/opt/ferry/ferry"), "/etc/ferry/plugins.lock"; got != want {
		t.Errorf("LockFile from env = %q, want %q", got, want)
	}
}

func TestResolveHome(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"FERRY_HOME", []string{"HOME=/home/u", "FERRY_HOME=/srv/ferry"}, "/srv/ferry"},
		{"FERRY_HOME with ~", []string{"HOME=/home/u", "FERRY_HOME=~/f"}, "/home/u/f"},
		{"HOME", []string{"HOME=/home/u"}, "/home/u/.config/ferry"},
		{"empty FERRY_HOME", []string{"HOME=/home/u", "FERRY_HOME="}, "/home/u/.config/ferry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveHome(tt.env)
			if err != nil || got != tt.want {
				t.Errorf("ResolveHome(%q) = %q, %v; want %q", tt.env, got, err, tt.want)
			}
		})
	}
}

func TestEmptyFile(t *testing.T) {
	for _, content := range []string{"", "# only a comment\n", "~\n"} {
		p := writeFile(t, t.TempDir(), "ferry.yaml", content)
		c := mustLoad(t, LoadOptions{File: p})
		if c.Log.Level != "info" || len(c.Plugins.Instances) != 4 {
			t.Errorf("%q: got %+v, want the defaults", content, c)
		}
	}
}

// TestDHTBootstrapEnv: FERRY_DHT_BOOTSTRAP replaces the bootstrap list of
// every dht instance, and of no other.
func TestDHTBootstrapEnv(t *testing.T) {
	file := writeFile(t, t.TempDir(), "f.yaml", `
plugins:
  instances:
    - {name: dht, config: {bootstrap: ["/ip4/127.0.0.1/tcp/1/p2p/old"], listen: ["/ip4/127.0.0.1/tcp/0"]}}
    - {name: dht2, plugin: dht}
    - {name: tcp}
    - {name: ftv2a}
discovery: [dht]
signaling: [dht]
protocols: [ftv2a]
`)
	env := []string{"FERRY_DHT_BOOTSTRAP=/ip4/127.0.0.1/tcp/4001/p2p/A, /ip4/127.0.0.1/tcp/4002/p2p/B,"}
	c := mustLoad(t, LoadOptions{File: file, Env: env})
	want := []any{"/ip4/127.0.0.1/tcp/4001/p2p/A", "/ip4/127.0.0.1/tcp/4002/p2p/B"}
	for _, name := range []string{"dht", "dht2"} {
		in, _ := c.Instance(name)
		if !reflect.DeepEqual(in.Config["bootstrap"], want) {
			t.Errorf("%s: bootstrap = %v, want %v", name, in.Config["bootstrap"], want)
		}
	}
	if in, _ := c.Instance("dht"); !reflect.DeepEqual(in.Config["listen"], []any{"/ip4/127.0.0.1/tcp/0"}) {
		t.Errorf("dht: listen = %v, want the file's value kept", in.Config["listen"])
	}
	if in, _ := c.Instance("tcp"); in.Config["bootstrap"] != nil {
		t.Errorf("tcp got a bootstrap option: %v", in.Config)
	}
}

// TestLoadDHTLoopback: configs/dht-loopback.yaml loads, runs the dht plugin
// instead of lan, listens on loopback only, and takes its bootstrap list
// from FERRY_DHT_BOOTSTRAP.
func TestLoadDHTLoopback(t *testing.T) {
	p, _ := filepath.Abs("../../configs/dht-loopback.yaml")
	boot := "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWExample"
	c := mustLoad(t, LoadOptions{File: p, Env: []string{"FERRY_DHT_BOOTSTRAP=" + boot}})
	if !reflect.DeepEqual(c.Discovery, []string{"dht"}) || !reflect.DeepEqual(c.Signaling, []string{"dht"}) {
		t.Errorf("discovery %v, signaling %v; want [dht] for both", c.Discovery, c.Signaling)
	}
	if lan, _ := c.Instance("lan"); lan.Enabled {
		t.Error("lan is enabled; the DHT config must not use the LAN")
	}
	d, _ := c.Instance("dht")
	if got, want := d.Config["listen"], []any{"/ip4/127.0.0.1/tcp/0"}; !reflect.DeepEqual(got, want) {
		t.Errorf("dht listen = %v, want %v", got, want)
	}
	if got, want := d.Config["bootstrap"], []any{boot}; !reflect.DeepEqual(got, want) {
		t.Errorf("dht bootstrap = %v, want %v", got, want)
	}
}

// TestTransportPriority checks the priority key and its default: 10 times
// the place in the transports list.
func TestTransportPriority(t *testing.T) {
	file := writeFile(t, t.TempDir(), "f.yaml", `
plugins:
  instances:
    - {name: lan}
    - {name: tcp}
    - {name: tcp2, plugin: tcp, priority: 5}
    - {name: tcp3, plugin: tcp}
    - {name: ftv2a}
transports: [tcp, tcp2, tcp3]
protocols: [ftv2a]
`)
	c := mustLoad(t, LoadOptions{File: file})
	for name, want := range map[string]int{"tcp": 10, "tcp2": 5, "tcp3": 30} {
		if got := c.TransportPriority(name); got != want {
			t.Errorf("TransportPriority(%s) = %d, want %d", name, got, want)
		}
	}
}

// TestLoadInternetConfigs: configs/internet.yaml and relay-only.yaml load
// and validate; tcp comes before ice by priority; FERRY_ICE_SERVERS splits
// into the STUN and TURN lists of every ice instance and the TURN
// credentials come from their variables, never the file.
func TestLoadInternetConfigs(t *testing.T) {
	env := []string{
		"FERRY_ICE_SERVERS=stun:127.0.0.1:3478, turn:127.0.0.1:3478?transport=udp,TURN:127.0.0.1:3479?transport=tcp",
		"FERRY_ICE_TURN_USER=alice", "FERRY_ICE_TURN_PASSWORD=s3cret",
	}
	for _, file := range []string{"internet.yaml", "relay-only.yaml"} {
		t.Run(file, func(t *testing.T) {
			p, _ := filepath.Abs("../../configs/" + file)
			mustLoad(t, LoadOptions{File: p}) // loads without the variables too
			c := mustLoad(t, LoadOptions{File: p, Env: env})
			ice, ok := c.Instance("ice")
			if !ok || !slices.Contains(c.Transports, "ice") {
				t.Fatalf("no ice transport: %v", c.Transports)
			}
			if got, want := ice.Config["stun_servers"], []any{"stun:127.0.0.1:3478"}; !reflect.DeepEqual(got, want) {
				t.Errorf("stun_servers = %v, want %v", got, want)
			}
			if got, want := ice.Config["turn_servers"], []any{"turn:127.0.0.1:3478?transport=udp", "TURN:127.0.0.1:3479?transport=tcp"}; !reflect.DeepEqual(got, want) {
				t.Errorf("turn_servers = %v, want %v", got, want)
			}
			if ice.Config["turn_username"] != "alice" || ice.Config["turn_password"] != "s3cret" {
				t.Errorf("TURN credentials %v / %v, want them from the variables", ice.Config["turn_username"], ice.Config["turn_password"])
			}
			if file == "internet.yaml" && c.TransportPriority("tcp") >= c.TransportPriority("ice") {
				t.Errorf("tcp priority %d, ice %d: want tcp first", c.TransportPriority("tcp"), c.TransportPriority("ice"))
			}
		})
	}
}
