package plugins

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/ferry-p2p/ferry"

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
			cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", tc.pattern)
			cmd.Dir = "../.."
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list %s: %v", tc.pattern, err)
			}
			var local int
			for _, p := range strings.Fields(string(out)) {
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
