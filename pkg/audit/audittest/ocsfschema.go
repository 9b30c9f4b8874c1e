package audittest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// OCSFSchema is OCSF's compiled schema — the form OCSF's own server loads
// and validates events against: every class and object with its attributes
// already resolved (extends, includes, profiles and the dictionary merged).
// Nothing about OCSF is written down here by hand; every rule reads it.
type OCSFSchema struct {
	Version    string                     `json:"version"`
	Classes    map[string]*ocsfDef        `json:"classes"`
	Objects    map[string]*ocsfDef        `json:"objects"`
	Profiles   map[string]json.RawMessage `json:"profiles"`
	Dictionary struct {
		Types struct {
			Attributes map[string]*ocsfType `json:"attributes"`
		} `json:"types"`
	} `json:"dictionary"`
}

// ocsfDef is a class or an object of the compiled schema.
type ocsfDef struct {
	Name        string               `json:"name"`
	UID         int64                `json:"uid"`          // classes only
	CategoryUID int64                `json:"category_uid"` // classes only
	Attributes  map[string]*ocsfAttr `json:"attributes"`
	Constraints map[string][]string  `json:"constraints"`
}

type ocsfAttr struct {
	Type        string   `json:"type"`        // a dictionary type, or object_t
	ObjectType  string   `json:"object_type"` // for object_t
	IsArray     bool     `json:"is_array"`
	Requirement string   `json:"requirement"` // required, recommended, optional
	Profiles    []string `json:"profiles"`    // nil: part of the class or object itself
	Sibling     string   `json:"sibling"`     // the attribute holding an enum's caption
	Enum        map[string]struct {
		Caption string `json:"caption"`
	} `json:"enum"`
}

// ocsfType is a dictionary type: a primitive, or a subtype of one ("type")
// with its constraints.
type ocsfType struct {
	Type   string    `json:"type"`
	Regex  string    `json:"regex"`
	MaxLen int       `json:"max_len"`
	Range  []float64 `json:"range"`
	Values []any     `json:"values"`
	re     *regexp.Regexp
}

const ocsfSchemaFile = "ocsf-1.8.0-compiled.json"

// OCSFSchemaPath finds OCSF's compiled 1.8.0 schema, which this repository
// does not carry: the file named by EXHIBIT_OCSF_SCHEMA, or the one in
// shared/schemas/ocsf-1.8.0/ beside the repository. "" when none.
func OCSFSchemaPath() string {
	if p := os.Getenv("EXHIBIT_OCSF_SCHEMA"); p != "" {
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
		p := filepath.Join(filepath.Dir(dir), "shared", "schemas", "ocsf-1.8.0", ocsfSchemaFile)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		return ""
	}
	return ""
}

var ocsfSchemas = struct {
	sync.Mutex
	byPath map[string]*OCSFSchema
}{byPath: map[string]*OCSFSchema{}}

// RequireOCSFSchema loads OCSF's compiled schema, once per test binary.
// Without it the test is skipped on a developer's machine, saying plainly
// that OCSF validation was not run, and fails under CI, where the schema is
// always beside the repository.
func RequireOCSFSchema(t testing.TB) *OCSFSchema {
	t.Helper()
	p := OCSFSchemaPath()
	if p == "" {
		msg := "OCSF's compiled 1.8.0 schema is not on this machine (set EXHIBIT_OCSF_SCHEMA or place it in shared/schemas/ocsf-1.8.0/): OCSF validation NOT run"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	ocsfSchemas.Lock()
	defer ocsfSchemas.Unlock()
	if s := ocsfSchemas.byPath[p]; s != nil {
		return s
	}
	s, err := LoadOCSFSchema(p)
	if err != nil {
		t.Fatalf("load OCSF schema: %v", err)
	}
	ocsfSchemas.byPath[p] = s
	return s
}

// LoadOCSFSchema reads a compiled OCSF schema.
func LoadOCSFSchema(path string) (*OCSFSchema, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s OCSFSchema
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(s.Classes) == 0 || len(s.Objects) == 0 || len(s.Dictionary.Types.Attributes) == 0 {
		return nil, fmt.Errorf("%s: not a compiled OCSF schema (no classes, objects or types)", path)
	}
	for _, ty := range s.Dictionary.Types.Attributes {
		if ty.Regex != "" {
			ty.re, _ = regexp.Compile(ty.Regex) // a pattern RE2 cannot read goes unchecked
		}
	}
	return &s, nil
}

// RequireValidEvents checks every line of an OCSF export (one event per
// line) as a Compliance Finding, failing the test with each line's
// problems, and returns the decoded events.
func (s *OCSFSchema) RequireValidEvents(t testing.TB, export []byte) []map[string]any {
	t.Helper()
	if len(export) == 0 {
		return nil
	}
	var events []map[string]any
	for i, line := range bytes.Split(bytes.TrimSuffix(export, []byte("\n")), []byte("\n")) {
		if problems := s.ValidateComplianceFinding(line); len(problems) > 0 {
			t.Fatalf("OCSF event on line %d is not valid OCSF %s:\n%s\n%s", i+1, s.Version, strings.Join(problems, "\n"), line)
		}
		var ev map[string]any
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		events = append(events, ev)
	}
	return events
}

// ValidateComplianceFinding is Validate for an event that must be a
// Compliance Finding (class 2003).
func (s *OCSFSchema) ValidateComplianceFinding(event []byte) []string {
	out := s.Validate(event)
	var ev struct {
		ClassUID json.RawMessage `json:"class_uid"`
	}
	if json.Unmarshal(event, &ev) == nil && string(ev.ClassUID) != "2003" {
		out = append(out, fmt.Sprintf("class_uid: %s, want 2003 (Compliance Finding)", ev.ClassUID))
	}
	return out
}

// Validate checks one event as OCSF's server validator does and returns
// every problem, each prefixed with its JSON path: the class named by
// class_uid; every attribute present that is required, at every depth of
// the objects the event carries; no attribute the class or object does not
// define — where an attribute belongs to a profile, only if metadata.profiles
// declares it; enum values defined, and a caption sibling (status for
// status_id, activity_name for activity_id) equal to the value's caption;
// values of their dictionary type (string, integer, long, timestamp,
// boolean, float, json, objects, arrays) and its regex, length and range;
// the class's at_least_one / just_one constraints; type_uid = class_uid*100
// + activity_id; category_uid the class's; metadata.version the schema's.
func (s *OCSFSchema) Validate(event []byte) []string {
	d := json.NewDecoder(bytes.NewReader(event))
	d.UseNumber() // keep 1 and 1.5 apart, as integer_t needs
	var ev map[string]any
	if err := d.Decode(&ev); err != nil {
		return []string{"event: not a JSON object: " + err.Error()}
	}
	if d.More() {
		return []string{"event: more than one JSON value"}
	}
	v := &ocsfValidation{s: s}
	class := v.class(ev)
	if class == nil {
		return v.out // nothing else can be judged without the class
	}
	v.profiles = v.declaredProfiles(ev)
	v.object("", ev, class)

	activity, okA := intValue(ev["activity_id"])
	typeUID, okT := intValue(ev["type_uid"])
	if want := class.UID*100 + activity; okA && okT && typeUID != want {
		v.addf("type_uid", "%d, want class_uid*100 + activity_id = %d", typeUID, want)
	}
	if c, ok := intValue(ev["category_uid"]); ok && c != class.CategoryUID {
		v.addf("category_uid", "%d, want %d, the category of class %s", c, class.CategoryUID, class.Name)
	}
	if md, ok := ev["metadata"].(map[string]any); ok {
		if ver, ok := md["version"].(string); ok && ver != s.Version {
			v.addf("metadata.version", "%q, want %q, the schema's version", ver, s.Version)
		}
	}
	return v.out
}

type ocsfValidation struct {
	s        *OCSFSchema
	profiles map[string]bool
	out      []string
}

func (v *ocsfValidation) addf(path, format string, args ...any) {
	v.out = append(v.out, path+": "+fmt.Sprintf(format, args...))
}

func (v *ocsfValidation) class(ev map[string]any) *ocsfDef {
	raw, present := ev["class_uid"]
	uid, ok := intValue(raw)
	switch {
	case !present:
		v.addf("class_uid", "required attribute missing")
		return nil
	case !ok:
		v.addf("class_uid", "wrong type: %s, want integer_t", describe(raw))
		return nil
	}
	for _, c := range v.s.Classes {
		if c.UID == uid {
			return c
		}
	}
	v.addf("class_uid", "no class is defined for %d", uid)
	return nil
}

// declaredProfiles reads metadata.profiles; its type is checked with the
// rest of metadata.
func (v *ocsfValidation) declaredProfiles(ev map[string]any) map[string]bool {
	declared := map[string]bool{}
	md, _ := ev["metadata"].(map[string]any)
	list, _ := md["profiles"].([]any)
	for i, p := range list {
		name, ok := p.(string)
		if !ok {
			continue
		}
		if _, known := v.s.Profiles[name]; !known {
			v.addf(fmt.Sprintf("metadata.profiles[%d]", i), "no profile is defined for %q", name)
		}
		declared[name] = true
	}
	return declared
}

// usable says whether an attribute may appear given the declared profiles.
func (v *ocsfValidation) usable(a *ocsfAttr) bool {
	return a.Profiles == nil || slices.ContainsFunc(a.Profiles, func(p string) bool { return v.profiles[p] })
}

// object checks a JSON object against a class or object definition.
func (v *ocsfValidation) object(path string, m map[string]any, def *ocsfDef) {
	at := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	// Unknown attributes. A definition with no attributes at all ("object",
	// which unmapped uses) is open-ended.
	if len(def.Attributes) > 0 {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			a, defined := def.Attributes[k]
			switch {
			case !defined:
				v.addf(at(k), "unknown attribute: %s %q does not define it", kind(def), def.Name)
			case !v.usable(a):
				v.addf(at(k), "unknown attribute: it belongs to profile %s, which metadata.profiles does not declare", strings.Join(a.Profiles, " or "))
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(def.Attributes)) {
		a := def.Attributes[k]
		if !v.usable(a) {
			continue
		}
		val, present := m[k]
		if !present || val == nil {
			if a.Requirement == "required" {
				v.addf(at(k), "required attribute missing")
			}
			continue
		}
		if !a.IsArray {
			v.value(at(k), val, a)
			v.enum(at(k), val, a, m, path)
			continue
		}
		items, ok := val.([]any)
		if !ok {
			v.addf(at(k), "wrong type: %s, want an array of %s", describe(val), typeName(a))
			continue
		}
		for i, it := range items {
			p := fmt.Sprintf("%s[%d]", at(k), i)
			v.value(p, it, a)
			v.enum(p, it, a, nil, "") // siblings of array enums are arrays; only the value is checked
		}
	}
	for _, kind := range slices.Sorted(maps.Keys(def.Constraints)) {
		keys := def.Constraints[kind]
		n := 0
		for _, k := range keys {
			if m[k] != nil {
				n++
			}
		}
		where := path
		if where == "" {
			where = "event"
		}
		switch kind {
		case "at_least_one":
			if n == 0 {
				v.addf(where, "constraint at_least_one of %s: none present", strings.Join(keys, ", "))
			}
		case "just_one":
			if n != 1 {
				v.addf(where, "constraint just_one of %s: %d present", strings.Join(keys, ", "), n)
			}
		default:
			v.addf(where, "constraint %q unknown to this validator", kind)
		}
	}
}

// value checks one value (or one array element) against its attribute's type.
func (v *ocsfValidation) value(path string, val any, a *ocsfAttr) {
	if a.Type == "object_t" {
		m, ok := val.(map[string]any)
		if !ok {
			v.addf(path, "wrong type: %s, want a %s object", describe(val), a.ObjectType)
			return
		}
		def := v.s.Objects[a.ObjectType]
		if def == nil {
			v.addf(path, "schema defines no object %q", a.ObjectType)
			return
		}
		v.object(path, m, def)
		return
	}
	ty := v.s.Dictionary.Types.Attributes[a.Type]
	if ty == nil {
		v.addf(path, "schema defines no type %q", a.Type)
		return
	}
	primitive := a.Type
	if ty.Type != "" {
		primitive = ty.Type
	}
	wrong := func() { v.addf(path, "wrong type: %s, want %s", describe(val), typeName(a)) }
	switch primitive {
	case "string_t":
		str, ok := val.(string)
		if !ok {
			wrong()
			return
		}
		if ty.MaxLen > 0 && len(str) > ty.MaxLen {
			v.addf(path, "%d bytes, longer than %s's %d", len(str), a.Type, ty.MaxLen)
		}
		if ty.re != nil && !ty.re.MatchString(str) {
			v.addf(path, "%q does not match %s's pattern", str, a.Type)
		}
	case "integer_t", "long_t":
		n, ok := intValue(val)
		if !ok || (primitive == "integer_t" && (n < math.MinInt32 || n > math.MaxInt32)) {
			wrong()
			return
		}
		if len(ty.Range) == 2 && (float64(n) < ty.Range[0] || float64(n) > ty.Range[1]) {
			v.addf(path, "%d outside %s's range %v", n, a.Type, ty.Range)
		}
	case "float_t":
		if _, ok := val.(json.Number); !ok {
			wrong()
		}
	case "boolean_t":
		if _, ok := val.(bool); !ok {
			wrong()
		}
	case "json_t":
	default:
		v.addf(path, "schema type %q has unknown primitive %q", a.Type, primitive)
	}
}

// enum checks an enumerated value, and its caption sibling in parent when
// given. 99 is "Other": its sibling carries the source's own word.
func (v *ocsfValidation) enum(path string, val any, a *ocsfAttr, parent map[string]any, parentPath string) {
	if a.Enum == nil {
		return
	}
	key := fmt.Sprint(val) // json.Number or string: the enum's own keys
	e, ok := a.Enum[key]
	if !ok {
		defined := slices.SortedFunc(maps.Keys(a.Enum), func(x, y string) int {
			xi, _ := strconv.Atoi(x)
			yi, _ := strconv.Atoi(y)
			return xi - yi
		})
		v.addf(path, "%s is not defined for this enum (defined: %s)", key, strings.Join(defined, ", "))
		return
	}
	if parent == nil || a.Sibling == "" || key == "99" {
		return
	}
	sib, present := parent[a.Sibling]
	if !present || sib == nil {
		return
	}
	if sib != e.Caption {
		sp := a.Sibling
		if parentPath != "" {
			sp = parentPath + "." + a.Sibling
		}
		v.addf(sp, "%s does not match the caption of %s %s, want %q", describe(sib), path, key, e.Caption)
	}
}

func intValue(val any) (int64, bool) {
	n, ok := val.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	return i, err == nil
}

func kind(def *ocsfDef) string {
	if def.UID != 0 {
		return "class"
	}
	return "object"
}

func typeName(a *ocsfAttr) string {
	if a.Type == "object_t" {
		return a.ObjectType + " object"
	}
	return a.Type
}

func describe(val any) string {
	switch x := val.(type) {
	case string:
		return strconv.Quote(x)
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprint(val)
}
