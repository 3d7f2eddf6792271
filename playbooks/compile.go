package playbooks

import (
	"fmt"
	"slices"

	"github.com/google/cel-go/cel"

	"github.com/aisoar/aisoar/alerts"
)

// CompilerOptions says what, besides CEL, the compiler checks playbooks against.
type CompilerOptions struct {
	// Catalog, when set, is the set of actions steps may use; their
	// parameters are checked against each action's declared schema.
	Catalog Catalog
	// Roles, when set, are the approver roles approvals may name.
	Roles []string
	// ATLAS, when set, maps the MITRE ATLAS technique ids a playbook's
	// atlas: may name to their names; atlas.Default().Names() is the catalog
	// aisoar ships. Without it only the form of the ids is checked.
	ATLAS map[string]string
}

// Compiler checks playbooks and compiles their expressions. It is safe for
// concurrent use; build one and reuse it, since the CEL environment is costly.
type Compiler struct {
	check, run *cel.Env
	opts       CompilerOptions
}

// NewCompiler builds the CEL environment once.
func NewCompiler(opts CompilerOptions) (*Compiler, error) {
	check, run, err := newEnvs()
	if err != nil {
		return nil, fmt.Errorf("building the CEL environment: %w", err)
	}
	return &Compiler{check: check, run: run, opts: opts}, nil
}

// Compiled is a checked playbook with every expression compiled, ready to
// match alerts and to be interpreted.
type Compiled struct {
	Playbook *Playbook
	trigger  *Expr
	// exprs holds every expression of the playbook by its source text.
	exprs map[string]*Expr
	// catalog is the actions it was checked against.
	catalog Catalog
}

// Action returns the spec of an action the playbook may use.
func (c *Compiled) Action(name string) (ActionSpec, bool) {
	spec, ok := c.catalog[name]
	return spec, ok
}

// Load parses and compiles one playbook file.
func (c *Compiler) Load(file string, data []byte) (*Compiled, Diagnostics) {
	pb, diags := Parse(file, data)
	if pb == nil {
		return nil, diags
	}
	compiled, more := c.Compile(pb)
	diags = append(diags, more...)
	diags.Sort()
	if len(diags) > 0 {
		return nil, diags
	}
	return compiled, nil
}

// Compile lints pb and compiles all of its expressions. The result is nil
// when there are diagnostics.
func (c *Compiler) Compile(pb *Playbook) (*Compiled, Diagnostics) {
	l := newLinter(c, pb)
	l.run()
	l.diags.Sort()
	if len(l.diags) > 0 {
		return nil, l.diags
	}
	return &Compiled{Playbook: pb, trigger: l.exprs[pb.Trigger.When], exprs: l.exprs, catalog: c.opts.Catalog}, nil
}

// Matches reports whether the playbook's trigger selects the alert; vars
// holds the alert (see NewVars), so many playbooks can share one conversion.
func (c *Compiled) Matches(a *alerts.Alert, vars *Vars) (bool, error) {
	if !c.AcceptsSource(a.Source) {
		return false, nil
	}
	return c.trigger.EvalBool(vars)
}

// AcceptsSource reports whether the trigger takes alerts from the source.
func (c *Compiled) AcceptsSource(source string) bool {
	return len(c.Playbook.Trigger.Sources) == 0 || slices.Contains(c.Playbook.Trigger.Sources, source)
}

// Condition evaluates a when: condition of the playbook; an empty one is true.
func (c *Compiled) Condition(src string, vars *Vars) (bool, error) {
	if src == "" {
		return true, nil
	}
	e, err := c.expr(src)
	if err != nil {
		return false, err
	}
	return e.EvalBool(vars)
}

// Render resolves every ${{ }} in a parameter value: a string that is one
// whole expression takes the expression's value and type, other strings
// get each expression's value formatted in place; lists and maps are
// rendered item by item.
func (c *Compiled) Render(v any, vars *Vars) (any, error) {
	switch v := v.(type) {
	case string:
		return c.renderString(v, vars)
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			r, err := c.Render(item, vars)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		return c.RenderParams(v, vars)
	}
	return v, nil
}

// RenderParams renders a step's with: mapping.
func (c *Compiled) RenderParams(with map[string]any, vars *Vars) (map[string]any, error) {
	out := make(map[string]any, len(with))
	for k, item := range with {
		r, err := c.Render(item, vars)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = r
	}
	return out, nil
}

// RenderString renders a string such as an approval message.
func (c *Compiled) RenderString(s string, vars *Vars) (string, error) {
	v, err := c.renderString(s, vars)
	if err != nil {
		return "", err
	}
	return formatValue(v), nil
}

func (c *Compiled) renderString(s string, vars *Vars) (any, error) {
	if !isTemplate(s) {
		return s, nil
	}
	segs, _, err := splitTemplate(s)
	if err != nil {
		return nil, err
	}
	if src, ok := wholeExpr(segs); ok {
		e, err := c.expr(src)
		if err != nil {
			return nil, err
		}
		return e.Eval(vars)
	}
	var out []byte
	for _, seg := range segs {
		if !seg.isExpr {
			out = append(out, seg.text...)
			continue
		}
		e, err := c.expr(seg.text)
		if err != nil {
			return nil, err
		}
		v, err := e.Eval(vars)
		if err != nil {
			return nil, err
		}
		out = append(out, formatValue(v)...)
	}
	return string(out), nil
}

func (c *Compiled) expr(src string) (*Expr, error) {
	e, ok := c.exprs[src]
	if !ok {
		return nil, fmt.Errorf("expression %q was not compiled with playbook %q", src, c.Playbook.ID)
	}
	return e, nil
}
