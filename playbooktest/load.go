package playbooktest

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/assets"
	"github.com/aisoar/aisoar/internal/diag"
	"github.com/aisoar/aisoar/playbooks"
	"github.com/aisoar/aisoar/workflows"
)

// BuiltinPrefix starts the names of files in the embedded library, as
// playbooks.LoadLibrary names them: builtin:library/<file>.
const BuiltinPrefix = "builtin:"

// Final incident and step states a scenario may expect.
var (
	incidentStates = []string{workflows.StateContained, workflows.StateOpen, workflows.StateFailed, workflows.StateResolved}
	stepStates     = []string{"done", "failed", "skipped", "rejected"}
)

// Load reads and checks a scenario file; a name starting with
// BuiltinPrefix is read from the embedded library. The error, when there
// is one, is diag.Diagnostics: every problem at its file:line:col.
func Load(file string) (*Suite, error) {
	data, err := readFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading scenarios: %w", err)
	}
	return Parse(file, data)
}

func readFile(file string) ([]byte, error) {
	if name, ok := strings.CutPrefix(file, BuiltinPrefix); ok {
		return fs.ReadFile(playbooks.BuiltinFiles(), name)
	}
	return os.ReadFile(file)
}

// Parse reads a scenario file from YAML. Unknown keys, values of the
// wrong kind and impossible expectations are reported at once.
func Parse(file string, data []byte) (*Suite, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, diag.Diagnostics{{File: file, Line: 1, Col: 1, Message: "YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	if len(doc.Content) == 0 {
		return nil, diag.Diagnostics{{File: file, Line: 1, Col: 1, Message: "no scenarios: the file is empty"}}
	}
	c := &converter{file: file, pos: positions{}}
	// Values of the wrong kind are reported and left out, so that the
	// rest can still be checked.
	value := c.value(doc.Content[0], reflect.TypeFor[Suite](), "")
	raw, err := json.Marshal(value)
	if err != nil {
		return nil, diag.Diagnostics{{File: file, Line: 1, Col: 1, Message: err.Error()}}
	}
	suite := &Suite{File: file}
	if err := json.Unmarshal(raw, suite); err != nil {
		return nil, diag.Diagnostics{{File: file, Line: 1, Col: 1, Message: err.Error()}}
	}
	c.check(suite)
	c.diags.Sort()
	if len(c.diags) > 0 {
		return nil, c.diags
	}
	return suite, nil
}

// positions maps a path in the file ("scenarios[0].expect.steps.rotate")
// to its YAML node.
type positions map[string]*yaml.Node

// at returns the node of path, or of its closest parent that has one.
func (p positions) at(where string) (line, col int) {
	for {
		if n, ok := p[where]; ok {
			return n.Line, n.Column
		}
		i := strings.LastIndexAny(where, ".[")
		if i < 0 {
			return 1, 1
		}
		where = where[:i]
	}
}

// converter checks a YAML tree against the Go types it decodes into and
// turns it into plain JSON values on the way, so that unknown keys and
// wrong kinds are reported where they are.
type converter struct {
	file  string
	diags diag.Diagnostics
	pos   positions
}

func (c *converter) errorf(n *yaml.Node, format string, args ...any) {
	c.diags = append(c.diags, diag.Diagnostic{File: c.file, Line: n.Line, Col: n.Column, Message: fmt.Sprintf(format, args...)})
}

// at reports a problem at path.
func (c *converter) at(where, format string, args ...any) {
	line, col := c.pos.at(where)
	c.diags = append(c.diags, diag.Diagnostic{File: c.file, Line: line, Col: col, Message: where + ": " + fmt.Sprintf(format, args...)})
}

func describe(where string) string {
	if where == "" {
		return "the scenario file"
	}
	return where
}

var (
	durationType  = reflect.TypeFor[playbooks.Duration]()
	timeType      = reflect.TypeFor[time.Time]()
	rawType       = reflect.TypeFor[json.RawMessage]()
	alertType     = reflect.TypeFor[AlertFields]()
	decisionsType = reflect.TypeFor[Decisions]()
)

// value converts n, which decodes into t, to a JSON value. It returns nil
// for an empty (null) value.
func (c *converter) value(n *yaml.Node, t reflect.Type, where string) any {
	c.pos[where] = n
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	switch t {
	case alertType:
		return c.value(n, reflect.TypeFor[alerts.Alert](), where)
	case decisionsType:
		if n.Kind == yaml.MappingNode {
			return []any{c.value(n, reflect.TypeFor[Decision](), where)}
		}
	case rawType:
		return c.generic(n, where)
	case durationType:
		s, ok := c.scalar(n, where)
		if !ok {
			return nil
		}
		d, err := time.ParseDuration(s)
		switch {
		case err != nil:
			c.errorf(n, "%s: bad duration %q: write it like 30s, 5m or 1h30m", where, s)
			return nil
		case d < 0:
			c.errorf(n, "%s: duration %q must not be negative", where, s)
			return nil
		}
		return s
	case timeType:
		s, ok := c.scalar(n, where)
		if _, err := time.Parse(time.RFC3339, s); ok && err != nil {
			c.errorf(n, "%s: %q is not an RFC 3339 time (2026-01-31T09:00:00Z)", where, s)
			return nil
		}
		return s
	}
	switch t.Kind() {
	case reflect.Pointer:
		return c.value(n, t.Elem(), where)
	case reflect.Interface:
		return c.generic(n, where)
	case reflect.Struct:
		return c.object(n, t, where)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			c.errorf(n, "%s must be a mapping, not %s", describe(where), kindName(n))
			return nil
		}
		m := map[string]any{}
		for _, kv := range entries(n) {
			key := kv[0].Value
			c.pos[diag.Join(where, key)+"#key"] = kv[0]
			if _, dup := m[key]; dup {
				c.errorf(kv[0], "duplicate key %q in %s", key, describe(where))
			}
			m[key] = c.value(kv[1], t.Elem(), diag.Join(where, key))
		}
		return m
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			c.errorf(n, "%s must be a list, not %s", where, kindName(n))
			return nil
		}
		list := make([]any, len(n.Content))
		for i, item := range n.Content {
			list[i] = c.value(item, t.Elem(), fmt.Sprintf("%s[%d]", where, i))
		}
		return list
	case reflect.String:
		s, _ := c.scalar(n, where)
		return s
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			c.errorf(n, "%s must be true or false, not %s", where, kindName(n))
			return nil
		}
		var b bool
		_ = n.Decode(&b)
		return b
	case reflect.Int, reflect.Int64, reflect.Int32:
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
			c.errorf(n, "%s must be a whole number, not %s", where, kindName(n))
			return nil
		}
		return i
	case reflect.Float64, reflect.Float32:
		f, err := strconv.ParseFloat(n.Value, 64)
		if n.Kind != yaml.ScalarNode || err != nil || (n.Tag != "!!int" && n.Tag != "!!float") {
			c.errorf(n, "%s must be a number, not %s", where, kindName(n))
			return nil
		}
		return f
	}
	c.errorf(n, "%s: cannot read a %s", where, t)
	return nil
}

// object converts a mapping into the fields of struct type t, by their
// json names, reporting unknown, duplicate and missing required keys.
func (c *converter) object(n *yaml.Node, t reflect.Type, where string) any {
	if n.Kind != yaml.MappingNode {
		c.errorf(n, "%s must be a mapping, not %s", describe(where), kindName(n))
		return nil
	}
	fields := map[string]reflect.StructField{}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.IsExported() && name != "" && name != "-" {
			fields[name] = f
			names = append(names, name)
		}
	}
	m := map[string]any{}
	seen := map[string]bool{}
	for _, kv := range entries(n) {
		key, val := kv[0], kv[1]
		f, ok := fields[key.Value]
		switch {
		case !ok:
			c.errorf(key, "unknown key %q in %s%s", key.Value, describe(where), diag.DidYouMean(key.Value, names))
			continue
		case seen[key.Value]:
			c.errorf(key, "duplicate key %q in %s", key.Value, describe(where))
			continue
		}
		seen[key.Value] = true
		c.pos[diag.Join(where, key.Value)+"#key"] = key
		if v := c.value(val, f.Type, diag.Join(where, key.Value)); v != nil {
			m[key.Value] = v
		}
	}
	for _, name := range names {
		if fields[name].Tag.Get("scenario") == "required" && !seen[name] {
			c.errorf(n, "%s is missing required key %q", describe(where), name)
		}
	}
	return m
}

// scalar returns a single value as a string.
func (c *converter) scalar(n *yaml.Node, where string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		c.errorf(n, "%s must be a single value, not %s", where, kindName(n))
		return "", false
	}
	return n.Value, true
}

// generic converts any YAML value to JSON values: parameters and outputs.
func (c *converter) generic(n *yaml.Node, where string) any {
	c.pos[where] = n
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for _, kv := range entries(n) {
			m[kv[0].Value] = c.generic(kv[1], diag.Join(where, kv[0].Value))
		}
		return m
	case yaml.SequenceNode:
		list := make([]any, len(n.Content))
		for i, item := range n.Content {
			list[i] = c.generic(item, fmt.Sprintf("%s[%d]", where, i))
		}
		return list
	}
	var v any
	if err := n.Decode(&v); err != nil {
		c.errorf(n, "%s: %v", where, err)
	}
	if t, ok := v.(time.Time); ok {
		return t.Format(time.RFC3339Nano)
	}
	return v
}

// entries returns the keys and values of a mapping, with the mappings
// of YAML merge keys (<<: *alert) laid under the keys given beside them.
func entries(n *yaml.Node) [][2]*yaml.Node {
	var given, merged [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		if key.ShortTag() != "!!merge" {
			given = append(given, [2]*yaml.Node{key, val})
			continue
		}
		sources := []*yaml.Node{val}
		if val.Kind == yaml.SequenceNode {
			sources = val.Content
		}
		for _, src := range sources {
			if src.Kind == yaml.AliasNode {
				src = src.Alias
			}
			if src.Kind == yaml.MappingNode {
				merged = append(merged, entries(src)...)
			}
		}
	}
	out := given
	for _, kv := range merged {
		taken := slices.ContainsFunc(out, func(o [2]*yaml.Node) bool { return o[0].Value == kv[0].Value })
		if !taken {
			out = append(out, kv)
		}
	}
	return out
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

// check reports what the types cannot say: impossible expectations,
// contradictory stubs, a missing inventory. It loads the inventories.
func (c *converter) check(suite *Suite) {
	if len(suite.Scenarios) == 0 {
		c.at("scenarios", "no scenarios")
	}
	names := map[string]bool{}
	for i, sc := range suite.Scenarios {
		at := fmt.Sprintf("scenarios[%d]", i)
		sc.file, sc.pos, sc.where = suite.File, c.pos, at
		if names[sc.Name] {
			c.at(at+".name", "another scenario is named %q", sc.Name)
		}
		names[sc.Name] = true
		if sc.Asset != nil && sc.Inventory != "" {
			c.at(at+".inventory", "give asset or inventory, not both")
		}
		if sc.Inventory != "" {
			c.inventory(sc, at+".inventory")
		}
		for _, id := range slices.Sorted(maps.Keys(sc.Actions)) {
			stub, where := sc.Actions[id], at+".actions."+id
			if stub == nil {
				continue
			}
			if stub.FailAttempts < 0 {
				c.at(where+".fail_attempts", "must not be negative")
			}
			if stub.FailAttempts > 0 && !stub.Error.retryable() {
				c.at(where+".fail_attempts", "a failure that passes after retries must be retryable: drop retryable: false")
			}
		}
		for _, id := range slices.Sorted(maps.Keys(sc.Approvals)) {
			if len(sc.Approvals[id]) == 0 {
				c.at(at+".approvals."+id, "no decision: give {approve: true} or a list of them")
			}
			for j, d := range sc.Approvals[id] {
				if d == nil {
					c.at(fmt.Sprintf("%s.approvals.%s[%d]", at, id, j), "empty decision")
				}
			}
		}
		for j, s := range sc.Signals {
			if s == nil {
				c.at(fmt.Sprintf("%s.signals[%d]", at, j), "empty signal")
			}
		}
		e, where := sc.Expect, at+".expect"
		if e.State != "" && !slices.Contains(incidentStates, e.State) {
			c.at(where+".state", "%q is not a final incident state (%s)%s", e.State, strings.Join(incidentStates, ", "), diag.DidYouMean(e.State, incidentStates))
		}
		for _, id := range slices.Sorted(maps.Keys(e.Steps)) {
			if state := e.Steps[id]; !slices.Contains(stepStates, state) {
				c.at(where+".steps."+id, "%q is not a final step state (%s)%s", state, strings.Join(stepStates, ", "), diag.DidYouMean(state, stepStates))
			}
		}
		for _, id := range e.NotCalled {
			if _, ok := e.Calls[id]; ok {
				c.at(where+".not_called", "step %q is also under calls", id)
			}
		}
	}
}

// inventory loads a scenario's inventory file, relative to the scenario file.
func (c *converter) inventory(sc *Scenario, where string) {
	file := resolve(c.file, sc.Inventory)
	data, err := readFile(file)
	if err != nil {
		c.at(where, "%v", err)
		return
	}
	inv, err := assets.Parse(file, data, assets.Options{})
	if ds, ok := err.(diag.Diagnostics); ok {
		c.diags = append(c.diags, ds...)
		return
	} else if err != nil {
		c.at(where, "%v", err)
		return
	}
	sc.inventory = inv
}

// resolve returns the file that a scenario file names by path rel; in the
// embedded library, an embedded file.
func resolve(from, rel string) string {
	if name, ok := strings.CutPrefix(from, BuiltinPrefix); ok {
		return BuiltinPrefix + path.Join(path.Dir(name), rel)
	}
	if filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(filepath.Dir(from), rel)
}
