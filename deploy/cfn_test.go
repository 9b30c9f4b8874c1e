package deploy

// A checker for CloudFormation templates, against AWS's published resource
// specification (the npm package @aws-cdk/cfnspec, pinned in .ci/deps), and
// a renderer that evaluates a template's intrinsic functions for one set of
// parameter values, so tests can read the policies it would create.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"
)

// cfnSpecPath finds the CloudFormation resource specification: the file
// named by EXHIBIT_CFNSPEC, or the one .ci/deps installs under the
// repository's .cache/. "" when neither exists.
func cfnSpecPath() string {
	if p := os.Getenv("EXHIBIT_CFNSPEC"); p != "" {
		return p
	}
	p := filepath.Join("..", ".cache", "cfnspec", "node_modules", "@aws-cdk", "cfnspec", "spec", "specification.json")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

var cfnSpecOnce struct {
	sync.Once
	spec *cfnSpec
	err  error
}

// requireCFNSpec loads the specification. Without it the test is skipped
// on a developer's machine, saying plainly that the templates were not
// checked against it, and fails under CI, where .ci/deps installs it.
func requireCFNSpec(t testing.TB) *cfnSpec {
	t.Helper()
	p := cfnSpecPath()
	if p == "" {
		msg := "AWS's CloudFormation resource specification (@aws-cdk/cfnspec) is not on this machine (`make test-deps` installs it into .cache/cfnspec; or set EXHIBIT_CFNSPEC to its spec/specification.json): template validation NOT run"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	cfnSpecOnce.Do(func() {
		b, err := os.ReadFile(p)
		if err != nil {
			cfnSpecOnce.err = err
			return
		}
		var s cfnSpec
		if err := json.Unmarshal(b, &s); err != nil {
			cfnSpecOnce.err = fmt.Errorf("%s: %w", p, err)
			return
		}
		if len(s.ResourceTypes) < 100 || len(s.PropertyTypes) < 100 {
			cfnSpecOnce.err = fmt.Errorf("%s: %d resource types and %d property types: not a CloudFormation resource specification", p, len(s.ResourceTypes), len(s.PropertyTypes))
			return
		}
		cfnSpecOnce.spec = &s
	})
	if cfnSpecOnce.err != nil {
		t.Fatalf("load CloudFormation resource specification: %v", cfnSpecOnce.err)
	}
	return cfnSpecOnce.spec
}

// cfnSpec is the part of the CloudFormation resource specification the
// checker reads.
type cfnSpec struct {
	ResourceSpecificationVersion string
	ResourceTypes                map[string]specType
	PropertyTypes                map[string]specType
}

type specType struct {
	Properties map[string]specProp
	Attributes map[string]specProp
	// A few property types are a primitive or a list themselves.
	specProp
}

type specProp struct {
	Required          bool
	PrimitiveType     string
	PrimitiveItemType string
	Type              string
	ItemType          string
}

// shortForms maps CloudFormation's YAML short-form tags to the functions
// they stand for.
var shortForms = map[string]string{
	"!Ref": "Ref", "!Condition": "Condition", "!GetAtt": "Fn::GetAtt", "!Sub": "Fn::Sub",
	"!If": "Fn::If", "!Equals": "Fn::Equals", "!Not": "Fn::Not", "!And": "Fn::And", "!Or": "Fn::Or",
	"!Join": "Fn::Join", "!Select": "Fn::Select", "!Split": "Fn::Split", "!FindInMap": "Fn::FindInMap",
	"!Base64": "Fn::Base64", "!Cidr": "Fn::Cidr", "!GetAZs": "Fn::GetAZs", "!ImportValue": "Fn::ImportValue",
}

// parseTemplate reads a YAML template into its JSON form, the short-form
// tags turned into the functions they stand for. Every problem is
// reported, with its line.
func parseTemplate(name string, b []byte) (map[string]any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, fmt.Errorf("%s: not a single YAML document", name)
	}
	var errs []string
	v := fromNode(doc.Content[0], func(n *yaml.Node, format string, args ...any) {
		errs = append(errs, fmt.Sprintf("%s:%d: %s", name, n.Line, fmt.Sprintf(format, args...)))
	})
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: the template is not a mapping", name)
	}
	return m, nil
}

func fromNode(n *yaml.Node, fail func(*yaml.Node, string, ...any)) any {
	fn := ""
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		var ok bool
		if fn, ok = shortForms[n.Tag]; !ok {
			fail(n, "unknown tag %s", n.Tag)
			return nil
		}
	}
	var v any
	switch n.Kind {
	case yaml.AliasNode:
		fail(n, "YAML aliases are not supported by CloudFormation")
		return nil
	case yaml.ScalarNode:
		if fn != "" {
			v = n.Value
			if fn == "Fn::GetAtt" {
				res, attr, ok := strings.Cut(n.Value, ".")
				if !ok {
					fail(n, "!GetAtt %q: want RESOURCE.ATTRIBUTE", n.Value)
				}
				v = []any{res, attr}
			}
			break
		}
		switch n.Tag {
		case "!!str", "!!binary", "!!timestamp":
			v = n.Value
		case "!!null":
			v = nil
		case "!!bool":
			v = n.Value == "true" || n.Value == "True" || n.Value == "TRUE"
		case "!!int":
			i, err := strconv.ParseInt(n.Value, 0, 64)
			if err != nil {
				fail(n, "integer %q: %v", n.Value, err)
			}
			v = i
		case "!!float":
			f, err := strconv.ParseFloat(n.Value, 64)
			if err != nil {
				fail(n, "number %q: %v", n.Value, err)
			}
			v = f
		default:
			fail(n, "unsupported scalar tag %s", n.Tag)
		}
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			l = append(l, fromNode(c, fail))
		}
		v = l
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
				fail(k, "a mapping key must be a plain string")
				continue
			}
			if _, dup := m[k.Value]; dup {
				fail(k, "key %q repeated", k.Value)
			}
			m[k.Value] = fromNode(n.Content[i+1], fail)
		}
		v = m
	}
	if fn != "" {
		return map[string]any{fn: v}
	}
	return v
}

var pseudoParams = []string{"AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition", "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix"}

// intrinsic returns the function and argument of v when v is one function
// call ({"Ref": X}, {"Fn::If": […]}).
func intrinsic(v any) (string, any, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return "", nil, false
	}
	for k, a := range m {
		if k == "Ref" || strings.HasPrefix(k, "Fn::") {
			return k, a, true
		}
	}
	return "", nil, false
}

// checker finds every problem in one template.
type checker struct {
	spec       *cfnSpec
	params     map[string]map[string]any
	resources  map[string]map[string]any
	conditions map[string]any
	mappings   map[string]any
	errs       []string
}

func (c *checker) fail(path, format string, args ...any) {
	c.errs = append(c.errs, path+": "+fmt.Sprintf(format, args...))
}

// checkTemplate checks a parsed template against the specification: top
// level sections, parameters and their defaults, conditions, every
// resource type, property (known, required, of a plausible type, nested
// property types too), attribute and reference, and outputs.
func checkTemplate(spec *cfnSpec, tpl map[string]any) []string {
	c := &checker{spec: spec, params: map[string]map[string]any{}, resources: map[string]map[string]any{}}
	allowed := []string{"AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Mappings", "Conditions", "Rules", "Transform", "Resources", "Outputs"}
	for k := range tpl {
		if !slices.Contains(allowed, k) {
			c.fail(k, "unknown top-level section")
		}
	}
	if v, ok := tpl["AWSTemplateFormatVersion"]; ok && v != "2010-09-09" {
		c.fail("AWSTemplateFormatVersion", "want \"2010-09-09\", got %v", v)
	}
	if _, ok := tpl["Transform"]; ok {
		c.fail("Transform", "templates with transforms are not checked")
	}
	section := func(name string) map[string]any {
		v, ok := tpl[name]
		if !ok {
			return nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			c.fail(name, "want a mapping")
		}
		return m
	}
	for name, p := range section("Parameters") {
		m, ok := p.(map[string]any)
		if !ok {
			c.fail("Parameters."+name, "want a mapping")
			continue
		}
		c.params[name] = m
	}
	c.conditions = section("Conditions")
	c.mappings = section("Mappings")
	res := section("Resources")
	if len(res) == 0 {
		c.fail("Resources", "a template needs at least one resource")
	}
	for name, r := range res {
		m, ok := r.(map[string]any)
		if !ok {
			c.fail("Resources."+name, "want a mapping")
			continue
		}
		if _, clash := c.params[name]; clash {
			c.fail("Resources."+name, "the name is also a parameter's")
		}
		c.resources[name] = m
	}

	for _, name := range sortedKeys(c.params) {
		c.checkParameter("Parameters."+name, c.params[name])
	}
	for _, name := range sortedKeys(c.conditions) {
		c.checkCondition("Conditions."+name, c.conditions[name], nil)
	}
	for _, name := range sortedKeys(c.resources) {
		c.checkResource("Resources."+name, c.resources[name])
	}
	outs := section("Outputs")
	for _, name := range sortedKeys(outs) {
		c.checkOutput("Outputs."+name, outs[name])
	}
	return c.errs
}

var paramKeys = []string{"Type", "Default", "Description", "AllowedValues", "AllowedPattern", "NoEcho", "MinLength", "MaxLength", "MinValue", "MaxValue", "ConstraintDescription"}

func (c *checker) checkParameter(path string, p map[string]any) {
	for k := range p {
		if !slices.Contains(paramKeys, k) {
			c.fail(path, "unknown parameter attribute %s", k)
		}
	}
	typ, _ := p["Type"].(string)
	switch {
	case typ == "":
		c.fail(path+".Type", "missing")
	case typ == "String", typ == "Number", typ == "List<Number>", typ == "CommaDelimitedList",
		strings.HasPrefix(typ, "AWS::"), strings.HasPrefix(typ, "List<AWS::"):
	default:
		c.fail(path+".Type", "unknown parameter type %q", typ)
	}
	if v, ok := p["NoEcho"]; ok {
		if _, isBool := v.(bool); !isBool && v != "true" && v != "false" {
			c.fail(path+".NoEcho", "want a boolean, got %v", v)
		}
	}
	def, hasDef := p["Default"]
	if !hasDef {
		return
	}
	if _, _, ok := intrinsic(def); ok {
		c.fail(path+".Default", "must be a literal")
		return
	}
	s := fmt.Sprint(def)
	if vals, ok := p["AllowedValues"].([]any); ok {
		if !slices.ContainsFunc(vals, func(v any) bool { return fmt.Sprint(v) == s }) {
			c.fail(path+".Default", "%q is not among AllowedValues", s)
		}
	} else if _, ok := p["AllowedValues"]; ok {
		c.fail(path+".AllowedValues", "want a list")
	}
	if pat, ok := p["AllowedPattern"].(string); ok {
		re, err := regexp.Compile("^(?:" + pat + ")$")
		if err != nil {
			c.fail(path+".AllowedPattern", "%v", err)
		} else if !re.MatchString(s) {
			c.fail(path+".Default", "%q does not match AllowedPattern", s)
		}
	}
	num := func(k string) (float64, bool) {
		v, ok := p[k]
		if !ok {
			return 0, false
		}
		f, err := strconv.ParseFloat(fmt.Sprint(v), 64)
		if err != nil {
			c.fail(path+"."+k, "want a number, got %v", v)
			return 0, false
		}
		return f, true
	}
	if typ == "Number" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			c.fail(path+".Default", "%q is not a number", s)
		}
		if lo, ok := num("MinValue"); ok && f < lo {
			c.fail(path+".Default", "%v is below MinValue %v", f, lo)
		}
		if hi, ok := num("MaxValue"); ok && f > hi {
			c.fail(path+".Default", "%v is above MaxValue %v", f, hi)
		}
	}
	if lo, ok := num("MinLength"); ok && float64(len(s)) < lo {
		c.fail(path+".Default", "shorter than MinLength %v", lo)
	}
	if hi, ok := num("MaxLength"); ok && float64(len(s)) > hi {
		c.fail(path+".Default", "longer than MaxLength %v", hi)
	}
}

// checkCondition checks a condition expression: Fn::Equals, Fn::Not,
// Fn::And, Fn::Or or a Condition by name.
func (c *checker) checkCondition(path string, v any, seen []string) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		c.fail(path, "want a condition function (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition)")
		return
	}
	for fn, arg := range m {
		switch fn {
		case "Condition":
			name, _ := arg.(string)
			c.conditionExists(path, name)
		case "Fn::Equals":
			l, ok := arg.([]any)
			if !ok || len(l) != 2 {
				c.fail(path, "Fn::Equals takes a list of two values")
				return
			}
			for i, x := range l {
				c.walk(fmt.Sprintf("%s.Fn::Equals[%d]", path, i), x, nil)
			}
		case "Fn::Not", "Fn::And", "Fn::Or":
			l, ok := arg.([]any)
			lo, hi := 2, 10
			if fn == "Fn::Not" {
				lo, hi = 1, 1
			}
			if !ok || len(l) < lo || len(l) > hi {
				c.fail(path, "%s takes a list of %d to %d conditions", fn, lo, hi)
				return
			}
			for i, x := range l {
				c.checkCondition(fmt.Sprintf("%s.%s[%d]", path, fn, i), x, seen)
			}
		default:
			c.fail(path, "%s is not a condition function", fn)
		}
	}
}

func (c *checker) conditionExists(path, name string) bool {
	if _, ok := c.conditions[name]; !ok || name == "" {
		c.fail(path, "condition %q is not defined in Conditions", name)
		return false
	}
	return true
}

var resourceKeys = []string{"Type", "Properties", "Condition", "DependsOn", "DeletionPolicy", "UpdateReplacePolicy", "Metadata", "CreationPolicy", "UpdatePolicy"}

func (c *checker) checkResource(path string, r map[string]any) {
	for k := range r {
		if !slices.Contains(resourceKeys, k) {
			c.fail(path, "unknown resource attribute %s", k)
		}
	}
	var assumed []string
	if cond, ok := r["Condition"]; ok {
		name, _ := cond.(string)
		if c.conditionExists(path+".Condition", name) {
			assumed = []string{name}
		}
	}
	if d, ok := r["DependsOn"]; ok {
		var deps []any
		switch d := d.(type) {
		case string:
			deps = []any{d}
		case []any:
			deps = d
		default:
			c.fail(path+".DependsOn", "want a resource name or a list of them")
		}
		for _, x := range deps {
			if s, _ := x.(string); c.resources[s] == nil {
				c.fail(path+".DependsOn", "%v is not a resource of this template", x)
			}
		}
	}
	for k, allowed := range map[string][]string{
		"DeletionPolicy":      {"Delete", "Retain", "RetainExceptOnCreate", "Snapshot"},
		"UpdateReplacePolicy": {"Delete", "Retain", "Snapshot"},
	} {
		if v, ok := r[k]; ok && !slices.Contains(allowed, fmt.Sprint(v)) {
			c.fail(path+"."+k, "%v is not one of %v", v, allowed)
		}
	}
	typ, _ := r["Type"].(string)
	if typ == "" {
		c.fail(path+".Type", "missing")
		return
	}
	st, ok := c.spec.ResourceTypes[typ]
	if !ok {
		c.fail(path+".Type", "unknown resource type %s", typ)
		return
	}
	props, hasProps := r["Properties"]
	if !hasProps {
		props = map[string]any{}
	}
	c.checkObject(path+".Properties", typ, typ, st, props, assumed)
}

// checkObject checks the properties of a resource (typeName == resType) or
// of one of its property types.
func (c *checker) checkObject(path, resType, typeName string, st specType, v any, assumed []string) {
	if st.Properties == nil && (st.PrimitiveType != "" || st.Type != "") {
		c.checkValue(path, resType, st.specProp, v, assumed)
		return
	}
	m, ok := v.(map[string]any)
	if _, _, isCall := intrinsic(v); isCall {
		ok = false
	}
	if !ok {
		c.fail(path, "want the properties of %s, got %s", typeName, kind(v))
		return
	}
	for _, k := range sortedKeys(m) {
		p, ok := st.Properties[k]
		if !ok {
			c.fail(path+"."+k, "unknown property of %s", typeName)
			continue
		}
		c.checkValue(path+"."+k, resType, p, m[k], assumed)
	}
	for _, k := range sortedKeys(st.Properties) {
		if _, ok := m[k]; st.Properties[k].Required && !ok {
			c.fail(path, "missing required property %s of %s", k, typeName)
		}
	}
}

// checkValue checks one property value against its definition.
func (c *checker) checkValue(path, resType string, p specProp, v any, assumed []string) {
	if c.intrinsicValue(path, resType, p, v, assumed) {
		return
	}
	switch {
	case p.Type == "List" || p.Type == "Map":
		item := specProp{PrimitiveType: p.PrimitiveItemType, Type: p.ItemType}
		if p.Type == "List" {
			l, ok := v.([]any)
			if !ok {
				c.fail(path, "want a list, got %s", kind(v))
				return
			}
			for i, x := range l {
				c.checkValue(fmt.Sprintf("%s[%d]", path, i), resType, item, x, assumed)
			}
			return
		}
		m, ok := v.(map[string]any)
		if !ok {
			c.fail(path, "want a map, got %s", kind(v))
			return
		}
		for _, k := range sortedKeys(m) {
			c.checkValue(path+"."+k, resType, item, m[k], assumed)
		}
	case p.Type != "":
		name := resType + "." + p.Type
		st, ok := c.spec.PropertyTypes[name]
		if !ok {
			if st, ok = c.spec.PropertyTypes[p.Type]; !ok {
				c.fail(path, "the specification has no property type %s", name)
				return
			}
		}
		c.checkObject(path, resType, p.Type, st, v, assumed)
	default:
		c.checkPrimitive(path, p.PrimitiveType, v, assumed)
	}
}

func (c *checker) checkPrimitive(path, prim string, v any, assumed []string) {
	if prim == "Json" {
		switch v.(type) {
		case map[string]any, string:
			c.walk(path, v, assumed)
		default:
			c.fail(path, "want a JSON object, got %s", kind(v))
		}
		return
	}
	if _, ok := v.(map[string]any); ok {
		c.fail(path, "want %s, got %s", article(prim), kind(v))
		return
	}
	if _, ok := v.([]any); ok {
		c.fail(path, "want %s, got a list", article(prim))
		return
	}
	s := fmt.Sprint(v)
	bad := false
	switch prim {
	case "String", "Timestamp":
		_, bad = v.(bool)
		bad = bad || v == nil
	case "Integer", "Long":
		_, err := strconv.ParseInt(s, 10, 64)
		bad = err != nil
	case "Double":
		_, err := strconv.ParseFloat(s, 64)
		bad = err != nil
	case "Boolean":
		bad = s != "true" && s != "false"
	default:
		c.fail(path, "the specification's primitive type %q is unknown to this checker", prim)
		return
	}
	if bad {
		c.fail(path, "want %s, got %s", article(prim), kind(v))
	}
}

// intrinsicValue checks v when it is a function call standing for a
// property's value, and reports whether it was one. Fn::If checks both
// branches against the property; the others must yield a list where a
// list is wanted and a single value where one is.
func (c *checker) intrinsicValue(path, resType string, p specProp, v any, assumed []string) bool {
	fn, arg, ok := intrinsic(v)
	if !ok {
		return false
	}
	if fn == "Fn::If" {
		l, ok := arg.([]any)
		if !ok || len(l) != 3 {
			c.fail(path, "Fn::If takes [CONDITION, VALUE_IF_TRUE, VALUE_IF_FALSE]")
			return true
		}
		name, _ := l[0].(string)
		if !c.conditionExists(path+".Fn::If", name) {
			return true
		}
		for i, branch := range l[1:] {
			as := assumed
			if i == 0 {
				as = append(slices.Clip(assumed), name)
			}
			if f, a, _ := intrinsic(branch); f == "Ref" && a == "AWS::NoValue" {
				continue
			}
			bp := fmt.Sprintf("%s.Fn::If[%d]", path, i+1)
			c.checkValue(bp, resType, p, branch, as)
		}
		return true
	}
	c.walk(path, v, assumed)
	yields := c.yields(fn, arg)
	wantList := p.Type == "List"
	switch {
	case p.PrimitiveType == "Json" || yields == "any":
	case wantList && yields != "list":
		c.fail(path, "want a list, got %s which yields a single value", fn)
	case !wantList && yields == "list":
		c.fail(path, "want a single value, got %s which yields a list", fn)
	case p.Type == "Map" || (p.Type != "" && !wantList):
		c.fail(path, "want an object, got %s", fn)
	}
	return true
}

// yields says what a function returns: "list", "value" or "any".
func (c *checker) yields(fn string, arg any) string {
	switch fn {
	case "Fn::Split", "Fn::GetAZs", "Fn::Cidr":
		return "list"
	case "Fn::Select", "Fn::FindInMap":
		return "any"
	case "Ref":
		name, _ := arg.(string)
		if p, ok := c.params[name]; ok {
			if t, _ := p["Type"].(string); strings.HasPrefix(t, "List<") || t == "CommaDelimitedList" {
				return "list"
			}
		}
		if name == "AWS::NotificationARNs" {
			return "list"
		}
	case "Fn::GetAtt":
		if l, ok := arg.([]any); ok && len(l) == 2 {
			r, _ := l[0].(string)
			a, _ := l[1].(string)
			if res := c.resources[r]; res != nil {
				typ, _ := res["Type"].(string)
				if c.spec.ResourceTypes[typ].Attributes[a].Type == "List" {
					return "list"
				}
			}
		}
	}
	return "value"
}

// walk checks every function call anywhere in v: each reference resolves,
// each condition exists, each function is known and well formed.
func (c *checker) walk(path string, v any, assumed []string) {
	fn, arg, ok := intrinsic(v)
	if !ok {
		switch v := v.(type) {
		case map[string]any:
			for _, k := range sortedKeys(v) {
				if strings.HasPrefix(k, "Fn::") || k == "Ref" {
					c.fail(path+"."+k, "a function call must be the only key of its mapping")
				}
				c.walk(path+"."+k, v[k], assumed)
			}
		case []any:
			for i, x := range v {
				c.walk(fmt.Sprintf("%s[%d]", path, i), x, assumed)
			}
		}
		return
	}
	p := path + "." + fn
	list := func(lo, hi int) []any {
		l, ok := arg.([]any)
		if !ok || len(l) < lo || len(l) > hi {
			c.fail(p, "takes a list of %d to %d arguments", lo, hi)
			return nil
		}
		return l
	}
	switch fn {
	case "Ref":
		name, ok := arg.(string)
		if !ok {
			c.fail(p, "takes a name")
			return
		}
		c.ref(p, name, assumed)
	case "Fn::GetAtt":
		var l []any
		if s, ok := arg.(string); ok {
			r, a, _ := strings.Cut(s, ".")
			l = []any{r, a}
		} else if l = list(2, 2); l == nil {
			return
		}
		r, _ := l[0].(string)
		a, ok := l[1].(string)
		if !ok {
			c.walk(p+"[1]", l[1], assumed)
		}
		c.getAtt(p, r, a, ok, assumed)
	case "Fn::Sub":
		var tmpl string
		vars := map[string]any{}
		switch a := arg.(type) {
		case string:
			tmpl = a
		case []any:
			if len(a) != 2 {
				c.fail(p, "takes a string or [STRING, {VARIABLES}]")
				return
			}
			tmpl, _ = a[0].(string)
			m, ok := a[1].(map[string]any)
			if !ok {
				c.fail(p+"[1]", "want a mapping of variables")
			}
			for k, x := range m {
				vars[k] = x
				c.walk(p+"[1]."+k, x, assumed)
			}
		default:
			c.fail(p, "takes a string or [STRING, {VARIABLES}]")
			return
		}
		for _, name := range subVariables(tmpl) {
			if _, ok := vars[name]; ok {
				continue
			}
			if r, a, isAtt := strings.Cut(name, "."); isAtt {
				c.getAtt(p+" ${"+name+"}", r, a, true, assumed)
			} else {
				c.ref(p+" ${"+name+"}", name, assumed)
			}
		}
	case "Fn::If":
		l := list(3, 3)
		if l == nil {
			return
		}
		name, _ := l[0].(string)
		if c.conditionExists(p, name) {
			c.walk(p+"[1]", l[1], append(slices.Clip(assumed), name))
		}
		c.walk(p+"[2]", l[2], assumed)
	case "Fn::Join":
		if l := list(2, 2); l != nil {
			if _, ok := l[0].(string); !ok {
				c.fail(p+"[0]", "the delimiter must be a string")
			}
			c.walk(p+"[1]", l[1], assumed)
		}
	case "Fn::Select", "Fn::Split":
		if l := list(2, 2); l != nil {
			c.walk(p, l, assumed)
		}
	case "Fn::FindInMap":
		if l := list(3, 3); l != nil {
			if name, ok := l[0].(string); ok && c.mappings[name] == nil {
				c.fail(p, "mapping %q is not defined in Mappings", name)
			}
			c.walk(p, l, assumed)
		}
	case "Fn::Base64", "Fn::GetAZs", "Fn::ImportValue", "Fn::Cidr":
		c.walk(p, arg, assumed)
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or":
		c.fail(p, "condition functions belong in Conditions (use Fn::If with a named condition)")
	default:
		c.fail(p, "unknown function")
	}
}

func (c *checker) ref(path, name string, assumed []string) {
	if _, ok := c.params[name]; ok {
		return
	}
	if slices.Contains(pseudoParams, name) {
		return
	}
	if r, ok := c.resources[name]; ok {
		c.guarded(path, name, r, assumed)
		return
	}
	c.fail(path, "%q is not a parameter, resource or pseudo parameter", name)
}

func (c *checker) getAtt(path, res, attr string, literal bool, assumed []string) {
	r, ok := c.resources[res]
	if !ok {
		c.fail(path, "%q is not a resource of this template", res)
		return
	}
	c.guarded(path, res, r, assumed)
	typ, _ := r["Type"].(string)
	st, ok := c.spec.ResourceTypes[typ]
	if !ok || !literal {
		return
	}
	if _, ok := st.Attributes[attr]; !ok {
		c.fail(path, "%s has no attribute %q (it has %v)", typ, attr, sortedKeys(st.Attributes))
	}
}

// guarded reports a reference to a conditional resource from a place
// where its condition is not known to hold: the stack would fail.
func (c *checker) guarded(path, name string, r map[string]any, assumed []string) {
	if cond, ok := r["Condition"].(string); ok && !slices.Contains(assumed, cond) {
		c.fail(path, "%s exists only under condition %s, which does not hold here (guard it with Fn::If)", name, cond)
	}
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// subVariables lists the ${NAME} references of an Fn::Sub string, leaving
// out the literal ${!…}.
func subVariables(s string) []string {
	var out []string
	for _, m := range subVar.FindAllStringSubmatch(s, -1) {
		if !strings.HasPrefix(m[1], "!") {
			out = append(out, strings.TrimSpace(m[1]))
		}
	}
	return out
}

func (c *checker) checkOutput(path string, v any) {
	m, ok := v.(map[string]any)
	if !ok {
		c.fail(path, "want a mapping")
		return
	}
	for k := range m {
		if !slices.Contains([]string{"Description", "Value", "Export", "Condition"}, k) {
			c.fail(path, "unknown output attribute %s", k)
		}
	}
	var assumed []string
	if cond, ok := m["Condition"]; ok {
		name, _ := cond.(string)
		if c.conditionExists(path+".Condition", name) {
			assumed = []string{name}
		}
	}
	val, ok := m["Value"]
	if !ok {
		c.fail(path, "missing Value")
	}
	c.walk(path+".Value", val, assumed)
	c.walk(path+".Export", m["Export"], assumed)
}

func kind(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case map[string]any:
		if fn, _, ok := intrinsic(v); ok {
			return fn
		}
		return "an object"
	case []any:
		return "a list"
	case bool:
		return fmt.Sprintf("the boolean %v", v)
	case string:
		return fmt.Sprintf("the string %q", v)
	default:
		return fmt.Sprintf("the number %v", v)
	}
}

// article names a primitive type with its article: "an integer".
func article(prim string) string {
	p := strings.ToLower(prim)
	if strings.ContainsAny(p[:1], "aeiou") {
		return "an " + p
	}
	return "a " + p
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// noValue stands for AWS::NoValue while rendering: the key or item is
// dropped.
type noValueT struct{}

var noValue = noValueT{}

// rendered is a template evaluated for one set of parameter values: the
// resources that exist under them, with every function call resolved.
type rendered struct {
	Resources  map[string]map[string]any
	Conditions map[string]bool
	Outputs    map[string]any
}

// renderTemplate evaluates tpl with the parameters' defaults overridden by
// params. attrs gives what Ref of a resource and Fn::GetAtt return
// ("Bucket", "Bucket.Arn"); the pseudo parameters are aws, REGION,
// ACCOUNT.
func renderTemplate(tpl map[string]any, params map[string]string, attrs map[string]string) (*rendered, error) {
	vals := map[string]string{
		"AWS::Partition": "aws", "AWS::Region": "REGION", "AWS::AccountId": "ACCOUNT",
		"AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "exhibit",
	}
	ps, _ := tpl["Parameters"].(map[string]any)
	for name, p := range ps {
		if d, ok := p.(map[string]any)["Default"]; ok {
			vals[name] = fmt.Sprint(d)
		}
	}
	for k, v := range params {
		if _, ok := ps[k]; !ok {
			return nil, fmt.Errorf("no parameter %s", k)
		}
		vals[k] = v
	}
	for name := range ps {
		if _, ok := vals[name]; !ok {
			return nil, fmt.Errorf("parameter %s has no default and no value", name)
		}
	}
	for k, v := range attrs {
		vals[k] = v
	}
	r := &renderer{vals: vals, condDefs: map[string]any{}, conds: map[string]bool{}}
	if cs, ok := tpl["Conditions"].(map[string]any); ok {
		r.condDefs = cs
	}
	out := &rendered{Resources: map[string]map[string]any{}, Conditions: map[string]bool{}, Outputs: map[string]any{}}
	for name := range r.condDefs {
		b, err := r.cond(name)
		if err != nil {
			return nil, err
		}
		out.Conditions[name] = b
	}
	res, _ := tpl["Resources"].(map[string]any)
	for name, v := range res {
		m := v.(map[string]any)
		if cond, ok := m["Condition"].(string); ok && !r.conds[cond] {
			continue
		}
		x, err := r.eval(m)
		if err != nil {
			return nil, fmt.Errorf("Resources.%s: %w", name, err)
		}
		out.Resources[name] = x.(map[string]any)
	}
	outs, _ := tpl["Outputs"].(map[string]any)
	for name, v := range outs {
		m := v.(map[string]any)
		if cond, ok := m["Condition"].(string); ok && !r.conds[cond] {
			continue
		}
		x, err := r.eval(m["Value"])
		if err != nil {
			return nil, fmt.Errorf("Outputs.%s: %w", name, err)
		}
		out.Outputs[name] = x
	}
	return out, nil
}

type renderer struct {
	vals     map[string]string
	condDefs map[string]any
	conds    map[string]bool
}

func (r *renderer) cond(name string) (bool, error) {
	if b, ok := r.conds[name]; ok {
		return b, nil
	}
	def, ok := r.condDefs[name]
	if !ok {
		return false, fmt.Errorf("no condition %s", name)
	}
	b, err := r.condExpr(def)
	r.conds[name] = b
	return b, err
}

func (r *renderer) condExpr(v any) (bool, error) {
	m, _ := v.(map[string]any)
	for fn, arg := range m {
		l, _ := arg.([]any)
		switch fn {
		case "Condition":
			return r.cond(fmt.Sprint(arg))
		case "Fn::Equals":
			a, err := r.eval(l[0])
			if err != nil {
				return false, err
			}
			b, err := r.eval(l[1])
			return fmt.Sprint(a) == fmt.Sprint(b), err
		case "Fn::Not":
			b, err := r.condExpr(l[0])
			return !b, err
		case "Fn::And", "Fn::Or":
			and := fn == "Fn::And"
			for _, x := range l {
				b, err := r.condExpr(x)
				if err != nil {
					return false, err
				}
				if b != and {
					return !and, nil
				}
			}
			return and, nil
		}
	}
	return false, fmt.Errorf("not a condition: %v", v)
}

func (r *renderer) eval(v any) (any, error) {
	if fn, arg, ok := intrinsic(v); ok {
		return r.call(fn, arg)
	}
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			y, err := r.eval(x)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			if y != noValue {
				out[k] = y
			}
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(v))
		for _, x := range v {
			y, err := r.eval(x)
			if err != nil {
				return nil, err
			}
			if y != noValue {
				out = append(out, y)
			}
		}
		return out, nil
	}
	return v, nil
}

func (r *renderer) lookup(name string) (string, error) {
	v, ok := r.vals[name]
	if !ok {
		return "", fmt.Errorf("no value for %s", name)
	}
	return v, nil
}

func (r *renderer) call(fn string, arg any) (any, error) {
	switch fn {
	case "Ref":
		if arg == "AWS::NoValue" {
			return noValue, nil
		}
		return r.lookup(fmt.Sprint(arg))
	case "Fn::GetAtt":
		l, _ := arg.([]any)
		if len(l) != 2 {
			return nil, fmt.Errorf("Fn::GetAtt %v", arg)
		}
		return r.lookup(fmt.Sprint(l[0]) + "." + fmt.Sprint(l[1]))
	case "Fn::If":
		l, _ := arg.([]any)
		b, err := r.cond(fmt.Sprint(l[0]))
		if err != nil {
			return nil, err
		}
		if b {
			return r.eval(l[1])
		}
		return r.eval(l[2])
	case "Fn::Sub":
		s, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("Fn::Sub with variables is not rendered")
		}
		var err error
		out := subVar.ReplaceAllStringFunc(s, func(m string) string {
			name := strings.TrimSpace(m[2 : len(m)-1])
			if strings.HasPrefix(name, "!") {
				return "${" + name[1:] + "}"
			}
			v, e := r.lookup(name)
			if e != nil {
				err = e
			}
			return v
		})
		return out, err
	case "Fn::Join":
		l, _ := arg.([]any)
		items, err := r.eval(l[1])
		if err != nil {
			return nil, err
		}
		var parts []string
		for _, x := range items.([]any) {
			parts = append(parts, fmt.Sprint(x))
		}
		return strings.Join(parts, fmt.Sprint(l[0])), nil
	}
	return nil, fmt.Errorf("%s is not rendered by this test", fn)
}
