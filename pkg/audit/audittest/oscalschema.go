package audittest

import (
	"bytes"
	"fmt"
	"os"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// OSCALSchema is a compiled OSCAL JSON schema.
type OSCALSchema struct{ s *jsonschema.Schema }

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
	if err := c.AddResource("oscal_complete_schema.json", doc); err != nil {
		return nil, err
	}
	s, err := c.Compile("oscal_complete_schema.json")
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
