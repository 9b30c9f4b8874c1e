package identity

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/exhibit-dev/exhibit/pkg/localfile"
)

// The mapping file (identity.mapping_file) joins accounts the evidence
// cannot join by itself: GitHub records no e-mail or SAML identity for a
// member, and IAM users carry only a name.
//
//	people:
//	  - source: frank@acme.example     # the Okta login or e-mail
//	    github: frank-acme             # GitHub login
//	    aws_iam: frank                 # IAM user name, in any account
//	    identity_center: frank@acme.example
//
// Every row needs source and at least one account. Names compare
// case-insensitively. An account listed for two people is not an error of
// the file but an ambiguity of the join: its findings are error, never a
// guess.
const (
	// MaxMappingSize bounds the mapping file.
	MaxMappingSize = 4 << 20
	// MaxMappingRows bounds how many people it lists.
	MaxMappingRows = 100_000
	maxProblems    = 100
)

// Row is one person of the mapping file.
type Row struct {
	Source         string `yaml:"source"`
	GitHub         string `yaml:"github"`
	AWSIAM         string `yaml:"aws_iam"`
	IdentityCenter string `yaml:"identity_center"`
	line           int
}

type mappingDoc struct {
	People []yaml.Node `yaml:"people"`
}

// LoadMapping reads and parses the mapping file at path (a regular file
// of at most MaxMappingSize bytes).
func LoadMapping(path string) ([]Row, error) {
	b, err := localfile.Read(path, MaxMappingSize)
	if err != nil {
		return nil, fmt.Errorf("identity.mapping_file: %w", err)
	}
	return ParseMapping(path, b)
}

// ParseMapping decodes a mapping file strictly and reports every problem
// together, each with the file, line and field.
func ParseMapping(name string, b []byte) ([]Row, error) {
	var problems []string
	bad := func(line int, path, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s:%d: %s: %s", name, line, path, fmt.Sprintf(format, args...)))
	}
	var doc mappingDoc
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(doc.People) == 0 {
		return nil, fmt.Errorf("%s: people: list at least one person", name)
	}
	if len(doc.People) > MaxMappingRows {
		return nil, fmt.Errorf("%s: people: %d entries; at most %d are supported", name, len(doc.People), MaxMappingRows)
	}
	rows := make([]Row, 0, len(doc.People))
	for i, n := range doc.People {
		p := fmt.Sprintf("people[%d]", i)
		var r Row
		named := false // an account field, even one with a bad value
		if n.Kind != yaml.MappingNode {
			bad(n.Line, p, "want a mapping with source and the person's accounts")
			continue
		}
		// Strict per row, so that every row's problems are reported.
		for j := 0; j+1 < len(n.Content); j += 2 {
			k, v := n.Content[j], n.Content[j+1]
			var dst *string
			switch k.Value {
			case "source":
				dst = &r.Source
			case "github":
				dst = &r.GitHub
			case "aws_iam":
				dst = &r.AWSIAM
			case "identity_center":
				dst = &r.IdentityCenter
			default:
				bad(k.Line, p, "unknown field %q (want source, github, aws_iam, identity_center)", k.Value)
				continue
			}
			if k.Value != "source" {
				named = true
			}
			if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
				bad(v.Line, p+"."+k.Value, "want a name")
				continue
			}
			*dst = strings.TrimSpace(v.Value)
		}
		r.line = n.Line
		if r.Source == "" {
			bad(n.Line, p+".source", "required: the person's Okta login or e-mail")
		}
		if !named {
			bad(n.Line, p, "names no account (github, aws_iam or identity_center)")
		}
		rows = append(rows, r)
	}
	if len(problems) > 0 {
		if len(problems) > maxProblems {
			extra := len(problems) - maxProblems
			problems = append(problems[:maxProblems], fmt.Sprintf("%s: and %d more problem(s)", name, extra))
		}
		errs := make([]error, len(problems))
		for i, p := range problems {
			errs[i] = errors.New(p)
		}
		return nil, errors.Join(errs...)
	}
	return rows, nil
}
