package audittest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// OSCALSchema is a compiled OSCAL JSON schema.
type OSCALSchema struct{ s *jsonschema.Schema }

// oscalSchemaNames are NIST's published file names that cover the
// assessment-results model.
var oscalSchemaNames = []string{"oscal_assessment-results_schema.json", "oscal_complete_schema.json"}

// OSCALSchemaPath finds NIST's OSCAL 1.2.2 JSON schema, which this
// repository does not carry: the file named by EXHIBIT_OSCAL_SCHEMA, or one
// placed in shared/schemas/oscal-1.2.2/ beside the repository. "" when none.
func OSCALSchemaPath() string {
	if p := os.Getenv("EXHIBIT_OSCAL_SCHEMA"); p != "" {
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
			continue
		}
		for _, name := range oscalSchemaNames {
			p := filepath.Join(filepath.Dir(dir), "shared", "schemas", "oscal-1.2.2", name)
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
		return ""
	}
	return ""
}

// RequireOSCALSchema loads NIST's schema. Without it the test is skipped on
// a developer's machine, saying plainly that schema validation was not run,
// and fails under CI, where the schema is always beside the repository.
func RequireOSCALSchema(t testing.TB) *OSCALSchema {
	t.Helper()
	p := OSCALSchemaPath()
	if p == "" {
		msg := "NIST's OSCAL 1.2.2 JSON schema is not on this machine (set EXHIBIT_OSCAL_SCHEMA or place it in shared/schemas/oscal-1.2.2/): schema validation NOT run"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	s, err := LoadOSCALSchema(p)
	if err != nil {
		t.Fatalf("load OSCAL schema: %v", err)
	}
	return s
}

// LoadOSCALSchema compiles the OSCAL JSON schema at path, asserting formats
// (date-time, uri, uri-reference, uuid…) as well as structure.
func LoadOSCALSchema(path string) (*OSCALSchema, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	name := filepath.Base(path)
	if err := c.AddResource(name, doc); err != nil {
		return nil, err
	}
	s, err := c.Compile(name)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", path, err)
	}
	return &OSCALSchema{s: s}, nil
}

// Validate checks a JSON document against the schema.
func (o *OSCALSchema) Validate(b []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return o.s.Validate(inst)
}
