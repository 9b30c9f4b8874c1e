package config

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/exhibit-dev/exhibit/pkg/collector"
)

// walker checks a YAML tree against the Go types it will decode into, so that
// every unknown key and type mismatch is reported with its path, and expands
// secret references in place.
type walker struct {
	lookup func(string) (string, bool)
	errs   []error
}

var (
	secretType   = reflect.TypeOf(collector.Secret(""))
	durationType = reflect.TypeOf(time.Duration(0))
	varRef       = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)
)

func typeOf(v any) reflect.Type { return reflect.TypeOf(v).Elem() }

func (w *walker) fail(path string, format string, args ...any) {
	if path == "" {
		path = "(top level)"
	}
	w.errs = append(w.errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			w.walk(c, t, path)
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	switch {
	case t == secretType:
		w.secret(n, path)
	case t == durationType:
		w.scalar(n, t, path, "a duration such as 30s or 5m")
	case t.Kind() == reflect.Struct:
		w.mapping(n, t, path)
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.fail(path, "want a list, line %d", n.Line)
			return
		}
		for i, c := range n.Content {
			w.walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	default:
		w.scalar(n, t, path, "a "+t.Kind().String())
	}
}

func (w *walker) mapping(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.MappingNode {
		w.fail(path, "want a mapping, line %d", n.Line)
		return
	}
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		fields[name] = f.Type
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i].Value, n.Content[i+1]
		ft, ok := fields[key]
		if !ok {
			w.fail(join(path, key), "unknown key (line %d); known keys here: %s", n.Content[i].Line, known(fields))
			continue
		}
		w.walk(val, ft, join(path, key))
	}
}

func known(fields map[string]reflect.Type) string {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func (w *walker) scalar(n *yaml.Node, t reflect.Type, path, want string) {
	if n.Kind != yaml.ScalarNode {
		w.fail(path, "want %s, line %d", want, n.Line)
		return
	}
	if strings.Contains(n.Value, "${") {
		w.fail(path, "${VAR} is expanded only in secret fields (token, external_id); write the value here")
		return
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		w.fail(path, "want %s, got %q (line %d)", want, n.Value, n.Line)
	}
}

// secret expands a secret reference: ${VAR} from the environment, or
// file:PATH read from disk. Inline secrets are refused so that the config
// file itself never holds one.
func (w *walker) secret(n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode {
		w.fail(path, "want ${VAR} or file:PATH, line %d", n.Line)
		return
	}
	v := strings.TrimSpace(n.Value)
	if m := varRef.FindStringSubmatch(v); m != nil {
		val, ok := w.lookup(m[1])
		if !ok || val == "" {
			w.fail(path, "environment variable %s is not set", m[1])
			return
		}
		n.Value = val
		return
	}
	if p, ok := strings.CutPrefix(v, "file:"); ok {
		b, err := os.ReadFile(p)
		if err != nil {
			w.fail(path, "read secret file: %v", err)
			return
		}
		n.Value = strings.TrimSpace(string(b))
		if n.Value == "" {
			w.fail(path, "secret file %s is empty", p)
		}
		return
	}
	w.fail(path, "secrets are not written inline; use ${VAR} or file:PATH (line %d)", n.Line)
}
