package plugins

import (
	"errors"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/ferry-p2p/ferry"

// goList runs go list with args at the module root and returns its output.
func goList(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return string(out)
}

// under reports whether import path p is pkg or inside it.
func under(p, pkg string) bool {
	return p == pkg || strings.HasPrefix(p, pkg+"/")
}

// TestLayering checks the architecture's import rules with go list -deps:
// plugins import only sdk/ from this module, and neither the core nor the
// sdk imports a plugin.
func TestLayering(t *testing.T) {
	cases := []struct {
		pattern string
		allowed []string // module-local prefixes a package may depend on
	}{
		{"./plugins/...", []string{module + "/sdk", module + "/plugins/"}},
		{"./sdk/...", []string{module + "/sdk"}},
		{"./core/...", []string{module + "/core/", module + "/sdk", module + "/configs"}},
	}
	for _, tc := range cases {
		t.Run(tc.pattern, func(t *testing.T) {
			out := goList(t, "-deps", "-f", "{{.ImportPath}}", tc.pattern)
			var local int
			for _, p := range strings.Fields(out) {
				if !strings.HasPrefix(p, module+"/") {
					continue
				}
				local++
				ok := false
				for _, a := range tc.allowed {
					if strings.HasPrefix(p, a) {
						ok = true
					}
				}
				if !ok {
					t.Errorf("%s depends on %s, which it must not import", tc.pattern, p)
				}
			}
			if local == 0 {
				t.Fatalf("go list %s found no packages of this module", tc.pattern)
			}
		})
	}
}

// TestSDKIsContractsOnly checks that package sdk itself (not its
// subpackages) can be imported without the plugin machinery: none of
// go-plugin, gRPC, protobuf, yamux or the SDK's internal packages is among
// its dependencies. They belong to sdk/serve, sdk/host and sdk/internal.
func TestSDKIsContractsOnly(t *testing.T) {
	forbidden := []string{
		"github.com/hashicorp/go-plugin",
		"google.golang.org/grpc",
		"google.golang.org/protobuf",
		"github.com/hashicorp/yamux",
		module + "/sdk/internal",
	}
	deps := strings.Fields(goList(t, "-deps", "-f", "{{.ImportPath}}", "./sdk"))
	if len(deps) == 0 || deps[len(deps)-1] != module+"/sdk" {
		t.Fatalf("go list -deps ./sdk did not end with the sdk package: %v", deps)
	}
	for _, f := range forbidden {
		var hits []string
		for _, p := range deps {
			if under(p, f) {
				hits = append(hits, p)
			}
		}
		if len(hits) > 0 {
			t.Errorf("package sdk depends on %s (%d package(s), e.g. %s); the contracts package must not need it", f, len(hits), hits[len(hits)-1])
		}
	}
}

// TestPluginsImportOnlySDK checks every import of every package under
// plugins/, its tests included (go list -deps does not see those): the only
// module-local packages a plugin may import are sdk/... and plugins/...
func TestPluginsImportOnlySDK(t *testing.T) {
	out := goList(t, "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}{{range .TestImports}} {{.}}{{end}}{{range .XTestImports}} {{.}}{{end}}", "./plugins/...")
	var pkgs int
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		pkgs++
		for _, imp := range f[1:] {
			if !under(imp, module) || under(imp, module+"/sdk") || under(imp, module+"/plugins") {
				continue
			}
			t.Errorf("%s imports %s: plugins may import only sdk/... and plugins/... from this module", f[0], imp)
		}
	}
	if pkgs == 0 {
		t.Fatal("go list ./plugins/... found no packages")
	}
}

// hostOnlyNames are the names of the host's and the server's machinery,
// which live in sdk/host and sdk/serve, never in package sdk.
var hostOnlyNames = []string{"Launch", "LaunchConfig", "PluginProcess", "Process", "ServeInProcess", "Serve"}

// TestSDKDocHasNoHostNames checks that the documentation of package sdk
// (what go doc shows: its exported consts, vars, funcs and types, and the
// funcs grouped under each type) names none of the host-only API.
func TestSDKDocHasNoHostNames(t *testing.T) {
	f := strings.Fields(goList(t, "-f", "{{.Dir}}{{range .GoFiles}} {{.}}{{end}}", "./sdk"))
	if len(f) < 2 {
		t.Fatalf("go list ./sdk found no Go files: %v", f)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range f[1:] {
		af, err := parser.ParseFile(fset, filepath.Join(f[0], name), nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, af)
	}
	p, err := doc.NewFromFiles(fset, files, module+"/sdk")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	values := func(vs []*doc.Value) {
		for _, v := range vs {
			names = append(names, v.Names...)
		}
	}
	values(p.Consts)
	values(p.Vars)
	for _, fn := range p.Funcs {
		names = append(names, fn.Name)
	}
	for _, typ := range p.Types {
		names = append(names, typ.Name)
		values(typ.Consts)
		values(typ.Vars)
		for _, fn := range typ.Funcs {
			names = append(names, fn.Name)
		}
	}
	if len(names) == 0 {
		t.Fatal("package sdk documents no names")
	}
	for _, n := range names {
		for _, bad := range hostOnlyNames {
			if n == bad {
				t.Errorf("go doc ./sdk lists %s, which belongs to sdk/host or sdk/serve", n)
			}
		}
	}
}
