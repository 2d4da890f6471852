package api

import (
	"os"
	"reflect"
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

// TestOpenAPISchemas: each documented body schema lists exactly the JSON
// keys of the Go type the server encodes or decodes.
func TestOpenAPISchemas(t *testing.T) {
	data, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]yaml.Node `yaml:"properties"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for name, keys := range map[string][]string{
		"Identity":    jsonKeys(reflect.TypeFor[Identity]()),
		"Peer":        jsonKeys(reflect.TypeFor[Peer]()),
		"SendRequest": jsonKeys(reflect.TypeFor[SendRequest]()),
		"Sent":        jsonKeys(reflect.TypeFor[Sent]()),
		"Offer":       jsonKeys(reflect.TypeFor[Offer]()),
		"Transfer":    jsonKeys(reflect.TypeFor[Transfer]()),
		"Error":       jsonKeys(reflect.TypeFor[apiError]()),
	} {
		s, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("openapi.yaml has no schema %s", name)
			continue
		}
		var documented []string
		for k := range s.Properties {
			documented = append(documented, k)
		}
		slices.Sort(documented)
		slices.Sort(keys)
		if !slices.Equal(documented, keys) {
			t.Errorf("schema %s lists %v; the Go type has %v", name, documented, keys)
		}
	}
}

// jsonKeys returns the JSON keys of struct type typ's fields.
func jsonKeys(typ reflect.Type) []string {
	var out []string
	for i := range typ.NumField() {
		if name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}
