// Package audittest checks exports against their standards in tests: OCSF
// events against the OCSF schema source files, and OSCAL documents against
// the OSCAL JSON schema and the metaschema rules it does not carry, both kept
// under pkg/audit/testdata.
package audittest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// OCSF is a loaded excerpt of the OCSF schema source.
type OCSF struct {
	dir  string
	dict map[string]ocsfAttr
}

type ocsfAttr struct {
	Type        string                     `json:"type"`
	IsArray     bool                       `json:"is_array"`
	Requirement string                     `json:"requirement"`
	Enum        map[string]json.RawMessage `json:"enum"`
}

type ocsfDef struct {
	Name        string                     `json:"name"`
	UID         *int                       `json:"uid"`
	Category    string                     `json:"category"`
	Extends     string                     `json:"extends"`
	Attributes  map[string]json.RawMessage `json:"attributes"`
	Constraints map[string][]string        `json:"constraints"`
}

// LoadOCSF reads the schema files under dir (a checkout of ocsf-schema, or
// the excerpt in testdata).
func LoadOCSF(dir string) (*OCSF, error) {
	b, err := os.ReadFile(filepath.Join(dir, "dictionary.json"))
	if err != nil {
		return nil, err
	}
	var d struct {
		Attributes map[string]ocsfAttr `json:"attributes"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("dictionary.json: %w", err)
	}
	return &OCSF{dir: dir, dict: d.Attributes}, nil
}

// resolved is a class or object with its inherited attributes merged.
type resolved struct {
	attrs       map[string]ocsfAttr
	constraints map[string][]string
}

func (o *OCSF) load(path string) (*ocsfDef, error) {
	b, err := os.ReadFile(filepath.Join(o.dir, path))
	if err != nil {
		return nil, err
	}
	var d ocsfDef
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &d, nil
}

func (o *OCSF) resolve(path string, parent func(string) string) (*resolved, *ocsfDef, error) {
	d, err := o.load(path)
	if err != nil {
		return nil, nil, err
	}
	r := &resolved{attrs: map[string]ocsfAttr{}, constraints: map[string][]string{}}
	if d.Extends != "" && d.Extends != "object" {
		base, _, err := o.resolve(parent(d.Extends), parent)
		if err != nil {
			return nil, nil, err
		}
		r = base
	}
	for name, raw := range d.Attributes {
		if strings.HasPrefix(name, "$") {
			continue // profile includes: not applied
		}
		a := o.dict[name]
		var over ocsfAttr
		if err := json.Unmarshal(raw, &over); err != nil {
			return nil, nil, fmt.Errorf("%s: attribute %s: %w", path, name, err)
		}
		if over.Requirement != "" {
			a.Requirement = over.Requirement
		}
		if over.Enum != nil {
			a.Enum = over.Enum
		}
		if prev, ok := r.attrs[name]; ok && over.Enum == nil && prev.Enum != nil {
			a.Enum = prev.Enum
		}
		r.attrs[name] = a
	}
	for k, v := range d.Constraints {
		r.constraints[k] = v
	}
	return r, d, nil
}

func (o *OCSF) object(name string) (*resolved, error) {
	r, _, err := o.resolve(filepath.Join("objects", name+".json"), func(n string) string {
		return filepath.Join("objects", n+".json")
	})
	return r, err
}

// CheckEvent checks one event of the class defined at classPath (relative to
// the schema directory, e.g. "events/findings/compliance_finding.json"),
// whose category has the given uid, and returns every problem found.
func (o *OCSF) CheckEvent(classPath string, categoryUID int, event map[string]any) ([]string, error) {
	classes := map[string]string{"base_event": "events/base_event.json", "finding": "events/findings/finding.json"}
	cls, def, err := o.resolve(classPath, func(n string) string { return classes[n] })
	if err != nil {
		return nil, err
	}
	var problems []string
	if def.UID != nil {
		classUID := categoryUID*1000 + *def.UID
		if got := num(event["class_uid"]); got != float64(classUID) {
			problems = append(problems, fmt.Sprintf("class_uid is %v, want %d", event["class_uid"], classUID))
		}
		if got := num(event["category_uid"]); got != float64(categoryUID) {
			problems = append(problems, fmt.Sprintf("category_uid is %v, want %d", event["category_uid"], categoryUID))
		}
		if got, want := num(event["type_uid"]), float64(classUID*100)+num(event["activity_id"]); got != want {
			problems = append(problems, fmt.Sprintf("type_uid is %v, want class_uid*100+activity_id = %v", event["type_uid"], want))
		}
	}
	// The base class lists placeholder values for these; the schema
	// compiler fills in each class's own, checked above.
	for _, name := range []string{"class_uid", "category_uid", "type_uid"} {
		a := cls.attrs[name]
		a.Enum = nil
		cls.attrs[name] = a
	}
	p, err := o.check("", cls, event)
	return append(problems, p...), err
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

func (o *OCSF) check(path string, r *resolved, v map[string]any) ([]string, error) {
	var problems []string
	at := func(name string) string {
		if path == "" {
			return name
		}
		return path + "." + name
	}
	for _, name := range sortedKeys(r.attrs) {
		a := r.attrs[name]
		if _, ok := v[name]; !ok && a.Requirement == "required" {
			problems = append(problems, at(name)+": required, missing")
		}
	}
	for _, name := range sortedKeys(v) {
		a, ok := r.attrs[name]
		if !ok {
			problems = append(problems, at(name)+": not an attribute of this class or object in the schema")
			continue
		}
		val := v[name]
		if val == nil {
			problems = append(problems, at(name)+": null")
			continue
		}
		items := []any{val}
		if a.IsArray {
			arr, ok := val.([]any)
			if !ok {
				problems = append(problems, at(name)+": want an array")
				continue
			}
			items = arr
		}
		for i, item := range items {
			p := at(name)
			if a.IsArray {
				p += "[" + strconv.Itoa(i) + "]"
			}
			ps, err := o.checkValue(p, a, item)
			if err != nil {
				return nil, err
			}
			problems = append(problems, ps...)
		}
	}
	for kind, names := range r.constraints {
		n := 0
		for _, name := range names {
			if _, ok := v[name]; ok {
				n++
			}
		}
		switch {
		case kind == "at_least_one" && n == 0:
			problems = append(problems, fmt.Sprintf("%s: needs at least one of %s", path, strings.Join(names, ", ")))
		case kind == "just_one" && n != 1:
			problems = append(problems, fmt.Sprintf("%s: needs exactly one of %s", path, strings.Join(names, ", ")))
		}
	}
	return problems, nil
}

func (o *OCSF) checkValue(path string, a ocsfAttr, v any) ([]string, error) {
	switch {
	case strings.HasSuffix(a.Type, "_t"):
		return scalarProblems(path, a, v), nil
	case a.Type == "object":
		if _, ok := v.(map[string]any); !ok {
			return []string{path + ": want an object"}, nil
		}
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return []string{path + ": want a " + a.Type + " object"}, nil
	}
	r, err := o.object(a.Type)
	if err != nil {
		return nil, err
	}
	return o.check(path, r, m)
}

func scalarProblems(path string, a ocsfAttr, v any) []string {
	var problems []string
	switch a.Type {
	case "integer_t", "long_t", "timestamp_t", "port_t":
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			return []string{fmt.Sprintf("%s: want an integer (%s), got %v", path, a.Type, v)}
		}
		if a.Enum != nil {
			if _, ok := a.Enum[strconv.FormatInt(int64(f), 10)]; !ok {
				problems = append(problems, fmt.Sprintf("%s: %v is not one of %s", path, v, strings.Join(sortedKeys(a.Enum), ", ")))
			}
		}
	case "boolean_t":
		if _, ok := v.(bool); !ok {
			problems = append(problems, path+": want a boolean")
		}
	case "float_t":
		if _, ok := v.(float64); !ok {
			problems = append(problems, path+": want a number")
		}
	case "json_t":
	default:
		s, ok := v.(string)
		if !ok {
			return []string{fmt.Sprintf("%s: want a string (%s), got %T", path, a.Type, v)}
		}
		if s == "" {
			problems = append(problems, path+": empty string")
		}
	}
	return problems
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
