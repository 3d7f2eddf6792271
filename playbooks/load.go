package playbooks

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/aisoar/aisoar/internal/diag"
)

// Parse reads one playbook from YAML. It reports every structural problem
// it finds (unknown keys, wrong types, bad durations) rather than the first;
// the playbook is usable only when the diagnostics are empty. Parse does not
// check actions or CEL: Lint does.
func Parse(file string, data []byte) (*Playbook, Diagnostics) {
	sum := sha256.Sum256(data)
	d := &decoder{file: file, nodes: map[string]*yaml.Node{}}
	pb := &Playbook{File: file, Hash: hex.EncodeToString(sum[:]), Source: string(data), nodes: d.nodes}

	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := yamlErrorLine(err)
		return nil, Diagnostics{{File: file, Line: line, Col: 1, Message: msg}}
	}
	if len(doc.Content) == 0 {
		return nil, Diagnostics{{File: file, Line: 1, Col: 1, Message: "empty playbook"}}
	}
	root := doc.Content[0]
	d.mapping("", root, fields{
		"id":                 func(p string, n *yaml.Node) { pb.ID = d.str(p, n) },
		"version":            func(p string, n *yaml.Node) { pb.Version = d.int(p, n) },
		"title":              func(p string, n *yaml.Node) { pb.Title = d.str(p, n) },
		"description":        func(p string, n *yaml.Node) { pb.Description = d.str(p, n) },
		"atlas":              func(p string, n *yaml.Node) { pb.ATLAS = d.strList(p, n) },
		"class":              func(p string, n *yaml.Node) { pb.Class = d.str(p, n) },
		"trigger":            func(p string, n *yaml.Node) { d.trigger(p, n, &pb.Trigger) },
		"steps":              func(p string, n *yaml.Node) { pb.Steps = d.steps(p, n) },
		"on_failure":         func(p string, n *yaml.Node) { pb.OnFailure = d.steps(p, n) },
		"auto_resolve_after": func(p string, n *yaml.Node) { pb.AutoResolveAfter = d.duration(p, n) },
	}, "id", "trigger", "steps")
	return pb, d.diags
}

// yamlErrorLine pulls the line number out of a yaml.v3 syntax error.
func yamlErrorLine(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, text, ok := strings.Cut(rest, ": "); ok {
			if line, convErr := strconv.Atoi(num); convErr == nil {
				return line, "YAML: " + text
			}
		}
	}
	return 1, "YAML: " + msg
}

// fields maps the keys a YAML mapping may have to the function that decodes
// the value at a path.
type fields map[string]func(path string, n *yaml.Node)

type decoder struct {
	file  string
	diags Diagnostics
	nodes map[string]*yaml.Node
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.diags = append(d.diags, Diagnostic{File: d.file, Line: n.Line, Col: n.Column, Message: fmt.Sprintf(format, args...)})
}

func describe(path string) string {
	if path == "" {
		return "the playbook"
	}
	return path
}

// mapping decodes a YAML mapping with the given fields, reporting unknown
// and duplicate keys and the required keys that are missing.
func (d *decoder) mapping(path string, n *yaml.Node, fs fields, required ...string) bool {
	d.nodes[path] = n
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping of keys to values, not %s", describe(path), kindName(n))
		return false
	}
	known := make([]string, 0, len(fs))
	for k := range fs {
		known = append(known, k)
	}
	slices.Sort(known)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		if seen[key.Value] {
			d.errorf(key, "duplicate key %q in %s", key.Value, describe(path))
			continue
		}
		seen[key.Value] = true
		decode, ok := fs[key.Value]
		if !ok {
			d.errorf(key, "unknown key %q in %s%s", key.Value, describe(path), diag.DidYouMean(key.Value, known))
			continue
		}
		p := diag.Join(path, key.Value)
		d.nodes[p+"#key"] = key
		d.nodes[p] = val
		decode(p, val)
	}
	for _, k := range required {
		if !seen[k] {
			d.errorf(n, "%s is missing required key %q", describe(path), k)
		}
	}
	return true
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "empty"
	}
	return fmt.Sprintf("%q", n.Value)
}

func (d *decoder) str(path string, n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errorf(n, "%s must be a string, not %s", path, kindName(n))
		return ""
	}
	return n.Value
}

func (d *decoder) int(path string, n *yaml.Node) int {
	v, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
		d.errorf(n, "%s must be a whole number, not %s", path, kindName(n))
	}
	return v
}

func (d *decoder) float(path string, n *yaml.Node) float64 {
	v, err := strconv.ParseFloat(n.Value, 64)
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || err != nil {
		d.errorf(n, "%s must be a number, not %s", path, kindName(n))
	}
	return v
}

func (d *decoder) bool(path string, n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		d.errorf(n, "%s must be true or false, not %s", path, kindName(n))
		return false
	}
	return n.Value == "true"
}

func (d *decoder) strList(path string, n *yaml.Node) []string {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s must be a list of strings, not %s", path, kindName(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, item := range n.Content {
		out = append(out, d.str(fmt.Sprintf("%s[%d]", path, i), item))
	}
	return out
}

func (d *decoder) duration(path string, n *yaml.Node) Duration {
	s := d.str(path, n)
	if s == "" {
		return 0
	}
	v, err := time.ParseDuration(s)
	switch {
	case err != nil:
		d.errorf(n, "%s: bad duration %q: write it like 30s, 5m or 1h30m", path, s)
	case v <= 0:
		d.errorf(n, "%s: duration %q must be positive", path, s)
	}
	return Duration(v)
}

func (d *decoder) trigger(path string, n *yaml.Node, t *Trigger) {
	d.mapping(path, n, fields{
		"sources": func(p string, n *yaml.Node) { t.Sources = d.strList(p, n) },
		"when":    func(p string, n *yaml.Node) { t.When = d.str(p, n) },
	}, "when")
}

func (d *decoder) steps(path string, n *yaml.Node) []Step {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s must be a list of steps, not %s", path, kindName(n))
		return nil
	}
	steps := make([]Step, len(n.Content))
	for i, item := range n.Content {
		d.step(fmt.Sprintf("%s[%d]", path, i), item, &steps[i])
	}
	return steps
}

func (d *decoder) step(path string, n *yaml.Node, s *Step) {
	ok := d.mapping(path, n, fields{
		"id":                func(p string, n *yaml.Node) { s.ID = d.str(p, n) },
		"action":            func(p string, n *yaml.Node) { s.Action = d.str(p, n) },
		"with":              func(p string, n *yaml.Node) { s.With = d.params(p, n) },
		"when":              func(p string, n *yaml.Node) { s.When = d.str(p, n) },
		"timeout":           func(p string, n *yaml.Node) { s.Timeout = d.duration(p, n) },
		"retry":             func(p string, n *yaml.Node) { s.Retry = d.retry(p, n) },
		"approval":          func(p string, n *yaml.Node) { s.Approval = d.approval(p, n) },
		"undo":              func(p string, n *yaml.Node) { s.Undo = d.action(p, n) },
		"parallel":          func(p string, n *yaml.Node) { s.Parallel = d.steps(p, n) },
		"continue_on_error": func(p string, n *yaml.Node) { s.ContinueOnError = d.bool(p, n) },
	})
	if !ok {
		return
	}
	switch {
	case s.Parallel != nil && s.Action != "":
		d.errorf(n, "step %s has both action and parallel: a parallel group runs its own steps", describeStep(path, s))
	case s.Parallel == nil && s.Action == "":
		d.errorf(n, "step %s needs an action (or a parallel group)", describeStep(path, s))
	}
}

func describeStep(path string, s *Step) string {
	if s.ID != "" {
		return strconv.Quote(s.ID)
	}
	return path
}

func (d *decoder) action(path string, n *yaml.Node) *Action {
	a := &Action{}
	d.mapping(path, n, fields{
		"action": func(p string, n *yaml.Node) { a.Action = d.str(p, n) },
		"with":   func(p string, n *yaml.Node) { a.With = d.params(p, n) },
		"after":  func(p string, n *yaml.Node) { a.After = d.duration(p, n) },
	}, "action")
	return a
}

func (d *decoder) retry(path string, n *yaml.Node) *Retry {
	r := &Retry{}
	d.mapping(path, n, fields{
		"max_attempts":        func(p string, n *yaml.Node) { r.MaxAttempts = d.int(p, n) },
		"initial_interval":    func(p string, n *yaml.Node) { r.InitialInterval = d.duration(p, n) },
		"max_interval":        func(p string, n *yaml.Node) { r.MaxInterval = d.duration(p, n) },
		"backoff_coefficient": func(p string, n *yaml.Node) { r.BackoffCoefficient = d.float(p, n) },
	})
	if r.MaxAttempts < 0 {
		d.errorf(n, "%s.max_attempts must not be negative", path)
	}
	if r.BackoffCoefficient != 0 && r.BackoffCoefficient < 1 {
		d.errorf(n, "%s.backoff_coefficient must be at least 1", path)
	}
	return r
}

func (d *decoder) approval(path string, n *yaml.Node) *Approval {
	a := &Approval{}
	if !d.mapping(path, n, fields{
		"role":               func(p string, n *yaml.Node) { a.Role = d.str(p, n) },
		"two_person":         func(p string, n *yaml.Node) { a.TwoPerson = d.bool(p, n) },
		"timeout":            func(p string, n *yaml.Node) { a.Timeout = d.duration(p, n) },
		"on_timeout":         func(p string, n *yaml.Node) { a.OnTimeout = d.str(p, n) },
		"escalate_to":        func(p string, n *yaml.Node) { a.EscalateTo = d.str(p, n) },
		"escalation_timeout": func(p string, n *yaml.Node) { a.EscalationTimeout = d.duration(p, n) },
		"message":            func(p string, n *yaml.Node) { a.Message = d.str(p, n) },
	}, "role") {
		return a
	}
	if a.Timeout == 0 {
		a.Timeout = DefaultApprovalTimeout
	}
	switch a.OnTimeout {
	case "":
		a.OnTimeout = OnTimeoutDeny
	case OnTimeoutDeny, OnTimeoutApprove:
	case OnTimeoutEscalate:
		if a.EscalateTo == "" {
			d.errorf(n, "%s: on_timeout escalate needs escalate_to (the role asked next)", path)
		}
	default:
		d.errorf(d.nodes[path+".on_timeout"], "%s.on_timeout must be deny, approve or escalate, not %q%s",
			path, a.OnTimeout, diag.DidYouMean(a.OnTimeout, []string{OnTimeoutDeny, OnTimeoutApprove, OnTimeoutEscalate}))
	}
	if a.EscalateTo != "" && a.OnTimeout != OnTimeoutEscalate {
		d.errorf(d.nodes[path+".escalate_to"], "%s.escalate_to is used only with on_timeout: escalate", path)
	}
	return a
}

// params decodes a step's `with` mapping into plain Go values (string,
// int, float64, bool, []any, map[string]any), recording every node's
// position so parameter diagnostics can point at it.
func (d *decoder) params(path string, n *yaml.Node) map[string]any {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping of parameter names to values, not %s", path, kindName(n))
		return nil
	}
	v, _ := d.value(path, n).(map[string]any)
	return v
}

func (d *decoder) value(path string, n *yaml.Node) any {
	d.nodes[path] = n
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i]
			if _, dup := m[key.Value]; dup {
				d.errorf(key, "duplicate key %q in %s", key.Value, path)
			}
			p := diag.Join(path, key.Value)
			d.nodes[p+"#key"] = key
			m[key.Value] = d.value(p, n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		for i, item := range n.Content {
			l[i] = d.value(fmt.Sprintf("%s[%d]", path, i), item)
		}
		return l
	case yaml.AliasNode:
		return d.value(path, n.Alias)
	}
	var v any
	if err := n.Decode(&v); err != nil {
		d.errorf(n, "%s: %v", path, err)
	}
	return v
}
