package assets

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/aisoar/aisoar/internal/diag"
)

// Load reads and checks an inventory file. The error, when there is one,
// is diag.Diagnostics: every problem at its file:line:col.
func Load(file string, opts Options) (*Inventory, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading the asset inventory: %w", err)
	}
	return Parse(file, data, opts)
}

// Parse reads an inventory from YAML and validates it against opts.
func Parse(file string, data []byte, opts Options) (*Inventory, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, diag.Diagnostics{{File: file, Line: 1, Col: 1, Message: "YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	inv := &Inventory{File: file}
	if len(doc.Content) == 0 {
		return inv, nil
	}
	root := doc.Content[0]
	s := &shape{file: file, nodes: map[string]*yaml.Node{}}
	s.check(root, reflect.TypeFor[Inventory](), "")
	if len(s.diags) > 0 {
		return nil, s.diags
	}
	if err := root.Decode(inv); err != nil {
		return nil, s.decodeError(err)
	}
	inv.complete()
	v := &validator{inv: inv, opts: opts, shape: s}
	v.validate()
	if len(s.diags) > 0 {
		s.diags.Sort()
		return nil, s.diags
	}
	return inv, nil
}

// shape checks a YAML tree against the Go types it decodes into, so that
// unknown keys and wrong kinds are reported where they are, and remembers
// the node of every path ("models.fraud-scorer.owner") for later messages.
type shape struct {
	file  string
	diags diag.Diagnostics
	nodes map[string]*yaml.Node
}

func (s *shape) errorf(n *yaml.Node, format string, args ...any) {
	s.diags = append(s.diags, diag.Diagnostic{File: s.file, Line: n.Line, Col: n.Column, Message: fmt.Sprintf(format, args...)})
}

// at reports a problem at the node of path, or of the closest parent path
// that has one.
func (s *shape) at(path, format string, args ...any) {
	for p := path; ; {
		if n, ok := s.nodes[p]; ok {
			s.errorf(n, "%s: "+format, append([]any{path}, args...)...)
			return
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			s.diags = append(s.diags, diag.Diagnostic{File: s.file, Line: 1, Col: 1, Message: fmt.Sprintf("%s: "+format, append([]any{path}, args...)...)})
			return
		}
		p = p[:i]
	}
}

func (s *shape) check(n *yaml.Node, t reflect.Type, path string) {
	s.nodes[path] = n
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			s.errorf(n, "%s must be a mapping", orTop(path))
			return
		}
		fields := map[string]reflect.Type{}
		var names []string
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if name != "" && name != "-" {
				fields[name] = t.Field(i).Type
				names = append(names, name)
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, value := n.Content[i], n.Content[i+1]
			ft, ok := fields[key.Value]
			if !ok {
				s.errorf(key, "unknown key %q in %s%s", key.Value, orTop(path), diag.DidYouMean(key.Value, names))
				continue
			}
			s.check(value, ft, diag.Join(path, key.Value))
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			s.errorf(n, "%s must be a mapping of names to entries", orTop(path))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			s.check(n.Content[i+1], t.Elem(), diag.Join(path, n.Content[i].Value))
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			s.errorf(n, "%s must be a list", path)
			return
		}
		for i, item := range n.Content {
			s.check(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	default:
		if n.Kind != yaml.ScalarNode {
			s.errorf(n, "%s must be a single value, not a %s", path, kindName(n.Kind))
		}
	}
}

func orTop(path string) string {
	if path == "" {
		return "the inventory"
	}
	return path
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

// decodeError turns a yaml.v3 type error ("line 7: cannot unmarshal …")
// into diagnostics.
func (s *shape) decodeError(err error) error {
	var typeErr *yaml.TypeError
	if !errors.As(err, &typeErr) {
		return diag.Diagnostics{{File: s.file, Line: 1, Col: 1, Message: err.Error()}}
	}
	var ds diag.Diagnostics
	for _, msg := range typeErr.Errors {
		line := 1
		if rest, ok := strings.CutPrefix(msg, "line "); ok {
			if num, text, ok := strings.Cut(rest, ": "); ok {
				if _, scanErr := fmt.Sscanf(num, "%d", &line); scanErr == nil {
					msg = text
				}
			}
		}
		ds = append(ds, diag.Diagnostic{File: s.file, Line: line, Col: 1, Message: msg})
	}
	return ds
}
