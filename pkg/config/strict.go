package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/localfile"
)

// Bounds on what a configuration may hold. They keep a hostile or generated
// file from hanging or exhausting the process before it has been validated.
const (
	// MaxFileSize bounds the configuration file.
	MaxFileSize = 1 << 20
	// MaxSecretFileSize bounds a file:PATH secret.
	MaxSecretFileSize = 64 << 10
	// maxValues bounds the values the walker visits, aliases expanded.
	maxValues = 100_000
	// maxProblems bounds how many problems one error lists.
	maxProblems = 100
)

// walker checks a YAML tree against the Go types it will decode into, so that
// every unknown key, duplicate key and type mismatch is reported with its
// path, and expands secret references in place. What it reports it removes
// from the tree, so that the rest still decodes and is validated in the same
// pass.
type walker struct {
	lookup   func(string) (string, bool)
	problems []problem
	// lines maps each field path seen to its line, to put validation
	// problems in file order.
	lines map[string]int
	// expanded holds secret nodes already expanded: an alias visits its
	// anchor again.
	expanded map[*yaml.Node]bool
	// active holds the nodes being walked, to refuse an alias to one.
	active map[*yaml.Node]bool
	values int
	tooBig bool
}

// problem is one thing wrong with the file.
type problem struct {
	line int // 0 when the field is not in the file
	path string
	err  error
}

var (
	secretType   = reflect.TypeOf(collector.Secret(""))
	durationType = reflect.TypeOf(time.Duration(0))
	reviewsType  = reflect.TypeOf(Reviews{})
	varRef       = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)
)

const topLevel = "(top level)"

func typeOf(v any) reflect.Type { return reflect.TypeOf(v).Elem() }

func newWalker(lookup func(string) (string, bool)) *walker {
	return &walker{lookup: lookup, lines: map[string]int{}, expanded: map[*yaml.Node]bool{}, active: map[*yaml.Node]bool{}}
}

func (w *walker) fail(path string, line int, format string, args ...any) {
	if path == "" {
		path = topLevel
	}
	w.problems = append(w.problems, problem{line: line, path: path, err: fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...))})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// drop replaces n with null, which decodes as "not set".
func drop(n *yaml.Node) {
	*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
}

// empty is a node that decodes as the zero value of t, in place of at.
func empty(t reflect.Type, at *yaml.Node) *yaml.Node {
	n := &yaml.Node{Line: at.Line, Column: at.Column}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		n.Kind, n.Tag = yaml.MappingNode, "!!map"
	case reflect.Slice:
		n.Kind, n.Tag = yaml.SequenceNode, "!!seq"
	case reflect.String:
		n.Kind, n.Tag = yaml.ScalarNode, "!!str"
	case reflect.Bool:
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!bool", "false"
	default:
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!int", "0"
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	if w.tooBig {
		return
	}
	if w.values++; w.values > maxValues {
		w.tooBig = true
		w.fail("", n.Line, "more than %d values (with aliases expanded); a configuration is never that large", maxValues)
		return
	}
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			w.walk(c, t, path)
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		ref := n
		n = n.Alias
		if w.active[n] {
			w.fail(path, ref.Line, "an alias inside the value it refers to (line %d)", ref.Line)
			*ref = *empty(t, ref)
			return
		}
	}
	w.active[n] = true
	defer delete(w.active, n)
	if _, seen := w.lines[path]; !seen && path != "" {
		w.lines[path] = n.Line
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if isNull(n) {
		return
	}
	if t == reviewsType && n.Kind == yaml.ScalarNode {
		// The shorthand `reviews: quarterly` is the schedule alone.
		*n = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column, Content: []*yaml.Node{
			{Kind: yaml.ScalarNode, Tag: "!!str", Value: "schedule", Line: n.Line, Column: n.Column}, {Kind: yaml.ScalarNode, Tag: "!!str", Value: n.Value, Line: n.Line, Column: n.Column},
		}}
	}
	switch {
	case t == secretType:
		w.secret(n, path)
	case t == durationType:
		w.scalar(n, t, path, "a duration such as 30s or 5m")
	case t.Kind() == reflect.Struct:
		w.mapping(n, t, path)
	case t.Kind() == reflect.Slice:
		w.sequence(n, t, path)
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String:
		w.stringMap(n, t, path)
	default:
		w.scalar(n, t, path, "a "+t.Kind().String())
	}
}

func (w *walker) sequence(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.SequenceNode {
		w.fail(path, n.Line, "want a list, line %d", n.Line)
		drop(n)
		return
	}
	for i, c := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		if isNull(c) || c.Kind == yaml.AliasNode && isNull(c.Alias) {
			// yaml would drop it silently ("collectors: [~]" configures
			// nothing) and renumber the rest, so that later problems
			// named the wrong item: it stays, as an empty value.
			w.lines[p] = c.Line
			w.fail(p, c.Line, "empty list item (line %d)", c.Line)
			n.Content[i] = empty(t.Elem(), c)
			continue
		}
		w.walk(c, t.Elem(), p)
	}
}

// stringMap walks a mapping whose keys are the user's (phi_tags), not
// field names: each value is checked against the map's value type, and a
// key set twice is an error rather than yaml's last-one-wins.
func (w *walker) stringMap(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.MappingNode {
		w.fail(path, n.Line, "want a mapping, line %d", n.Line)
		drop(n)
		return
	}
	first := map[string]int{}
	kept := n.Content[:0:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := join(path, k.Value)
		if line, dup := first[k.Value]; dup {
			w.fail(p, k.Line, "set twice (lines %d and %d)", line, k.Line)
			continue
		}
		first[k.Value] = k.Line
		w.lines[p] = k.Line
		w.walk(val, t.Elem(), p)
		kept = append(kept, k, val)
	}
	n.Content = kept
}

func (w *walker) mapping(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.MappingNode {
		w.fail(path, n.Line, "want a mapping, line %d", n.Line)
		drop(n)
		return
	}
	type field struct {
		t   reflect.Type
		max int
	}
	fields := map[string]field{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		max, _ := strconv.Atoi(f.Tag.Get("max"))
		fields[name] = field{t: f.Type, max: max}
	}
	first := map[string]int{}
	kept := n.Content[:0:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := join(path, k.Value)
		f, ok := fields[k.Value]
		switch line, dup := first[k.Value]; {
		case !ok:
			w.lines[p] = k.Line
			w.fail(p, k.Line, "unknown key (line %d); known keys here: %s", k.Line, known(fields))
			continue
		case dup:
			w.fail(p, k.Line, "set twice (lines %d and %d)", line, k.Line)
			continue
		}
		first[k.Value] = k.Line
		w.lines[p] = k.Line
		if v := val; f.max > 0 {
			if v.Kind == yaml.AliasNode {
				v = v.Alias
			}
			if v.Kind == yaml.SequenceNode && len(v.Content) > f.max {
				// Not walked, let alone decoded: a list that long is a
				// mistake or an attack, and would take a while.
				w.fail(p, k.Line, "%d entries; at most %d are supported (line %d)", len(v.Content), f.max, k.Line)
				continue
			}
		}
		w.walk(val, f.t, p)
		kept = append(kept, k, val)
	}
	n.Content = kept
}

func known[V any](fields map[string]V) string {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func (w *walker) scalar(n *yaml.Node, t reflect.Type, path, want string) {
	if n.Kind != yaml.ScalarNode {
		w.fail(path, n.Line, "want %s, line %d", want, n.Line)
		drop(n)
		return
	}
	if strings.Contains(n.Value, "${") {
		w.fail(path, n.Line, "${VAR} is expanded only in secret fields (token, external_id); write the value here")
		drop(n)
		return
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		w.fail(path, n.Line, "want %s, got %q (line %d)", want, n.Value, n.Line)
		drop(n)
	}
}

// secret expands a secret reference: ${VAR} from the environment, or
// file:PATH read from disk. Inline secrets are refused so that the config
// file itself never holds one. On any problem the node is dropped, so that an
// unexpanded reference never reaches the configuration.
func (w *walker) secret(n *yaml.Node, path string) {
	if w.expanded[n] {
		return
	}
	if n.Kind != yaml.ScalarNode {
		w.fail(path, n.Line, "want ${VAR} or file:PATH, line %d", n.Line)
		drop(n)
		return
	}
	line := n.Line
	v := strings.TrimSpace(n.Value)
	if m := varRef.FindStringSubmatch(v); m != nil {
		val, ok := w.lookup(m[1])
		if !ok || val == "" {
			w.fail(path, line, "environment variable %s is not set", m[1])
			drop(n)
			return
		}
		n.Value = val
		w.expanded[n] = true
		return
	}
	if p, ok := strings.CutPrefix(v, "file:"); ok {
		b, err := localfile.Read(p, MaxSecretFileSize)
		if err != nil {
			w.fail(path, line, "read secret file: %v", err)
			drop(n)
			return
		}
		val := strings.TrimSpace(string(b))
		if val == "" {
			w.fail(path, line, "secret file %s is empty", p)
			drop(n)
			return
		}
		n.Value = val
		w.expanded[n] = true
		return
	}
	w.fail(path, line, "secrets are not written inline; use ${VAR} or file:PATH (line %d)", line)
	drop(n)
}

// line is where path, or the nearest field above it, is in the file.
func (w *walker) line(path string) int {
	for path != "" {
		if l, ok := w.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// errorPath is the field path an error names, as in "collectors[2].schedule:
// …", or "" if it names none.
func errorPath(err error) string {
	msg := err.Error()
	if m := fieldPath.FindString(msg); m != "" {
		return strings.TrimSuffix(m, ": ")
	}
	return ""
}

// within reports whether path is p or a field below it.
func within(path, p string) bool {
	return path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[")
}

// report adds validation errors to the walker's problems, leaving out those
// about a field the walker already reported (and removed), and returns them
// all, in file order, as one error.
func (w *walker) report(validation error) error {
	all := w.problems
	for _, e := range unjoin(validation) {
		if e == nil {
			continue
		}
		path := errorPath(e)
		if path != "" && slices.ContainsFunc(w.problems, func(p problem) bool { return within(path, p.path) }) {
			continue
		}
		all = append(all, problem{line: w.line(path), path: path, err: e})
	}
	if len(all) == 0 {
		return nil
	}
	// Stable: problems on one line keep the order they were found in, and
	// those about fields the file does not set come last.
	sort.SliceStable(all, func(i, j int) bool {
		li, lj := all[i].line, all[j].line
		if li == 0 || lj == 0 {
			return lj == 0 && li != 0
		}
		return li < lj
	})
	var errs []error
	for i, p := range all {
		if i == maxProblems {
			errs = append(errs, fmt.Errorf("… and %d more problems", len(all)-maxProblems))
			break
		}
		errs = append(errs, p.err)
	}
	return errors.Join(errs...)
}
