package api

import (
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestOpenAPIMatchesRoutes: openapi.yaml documents every route the server
// serves, with its method, and documents no path or method it does not
// serve.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	data, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                          `yaml:"openapi"`
		Paths   map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi.yaml: openapi %q, want 3.x", doc.OpenAPI)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			switch method {
			case "get", "post", "put", "delete", "patch", "head":
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	s, _ := newTestServer(t, "k")
	var served []string
	for _, r := range s.routes() {
		// ServeMux's "/{$}" is the path "/" alone.
		served = append(served, r.method+" "+strings.TrimSuffix(r.path, "{$}"))
	}
	slices.Sort(documented)
	slices.Sort(served)
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is served but not in openapi.yaml", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(served, d) {
			t.Errorf("openapi.yaml documents %s, which the server does not serve", d)
		}
	}
	if len(served) < 15 {
		t.Errorf("only %d routes served: %v", len(served), served)
	}
}
