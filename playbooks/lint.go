package playbooks

import (
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"go.yaml.in/yaml/v3"

	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/internal/diag"
)

var (
	playbookIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	stepIDPattern     = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	atlasIDPattern    = regexp.MustCompile(`^AML\.(T\d{4}(\.\d{3})?|TA\d{4})$`)
)

// scope says where an expression sits, which decides the variables and the
// steps it may refer to.
type scope struct {
	// rank is the position, in execution order, of the top-level step the
	// expression belongs to; it may refer to steps of a lower rank.
	rank int
	// trigger expressions see only alert; failure expressions also see failure.
	trigger, failure bool
}

// stepRef is where a step runs in the playbook's order.
type stepRef struct {
	rank      int
	onFailure bool
}

// linter checks one playbook and compiles its expressions.
type linter struct {
	c     *Compiler
	pb    *Playbook
	exprs map[string]*Expr
	steps map[string]stepRef
	diags Diagnostics
}

func newLinter(c *Compiler, pb *Playbook) *linter {
	return &linter{c: c, pb: pb, exprs: map[string]*Expr{}, steps: map[string]stepRef{}}
}

// node returns the YAML node at path, falling back to its nearest parent;
// playbooks decoded from JSON have no nodes and report line 0.
func (l *linter) node(path string) *yaml.Node {
	for {
		if n, ok := l.pb.nodes[path]; ok {
			return n
		}
		cut := strings.LastIndexAny(path, ".[")
		if cut < 0 {
			if n, ok := l.pb.nodes[""]; ok {
				return n
			}
			return &yaml.Node{}
		}
		path = path[:cut]
	}
}

func (l *linter) errorf(path string, format string, args ...any) {
	l.errorAtNode(l.node(path), format, args...)
}

// errorfItem reports a problem with the i-th entry of the list at path,
// pointing at the entry when the list was read from YAML.
func (l *linter) errorfItem(path string, i int, format string, args ...any) {
	n := l.node(path)
	if n.Kind == yaml.SequenceNode && i < len(n.Content) {
		n = n.Content[i]
	}
	l.errorAtNode(n, format, args...)
}

func (l *linter) errorAtNode(n *yaml.Node, format string, args ...any) {
	l.diags = append(l.diags, Diagnostic{File: l.pb.File, Line: n.Line, Col: n.Column, Message: fmt.Sprintf(format, args...)})
}

func (l *linter) run() {
	pb := l.pb
	if !playbookIDPattern.MatchString(pb.ID) {
		l.errorf("id", "playbook id %q must be lowercase letters, digits, '.', '_' or '-' (it is part of every incident id)", pb.ID)
	}
	for i, id := range pb.ATLAS {
		l.atlasID(i, id)
	}
	if pb.Class != "" && !slices.Contains(Classes, pb.Class) {
		l.errorf("class", "class %q is not a triage class: use %s%s", pb.Class, strings.Join(Classes, " or "), diag.DidYouMean(pb.Class, Classes))
	}
	if len(pb.Steps) == 0 {
		l.errorf("steps", "a playbook needs at least one step")
	}
	l.indexSteps()
	l.condition("trigger.when", pb.Trigger.When, scope{trigger: true})
	for i := range pb.Steps {
		l.step(fmt.Sprintf("steps[%d]", i), &pb.Steps[i], scope{rank: i})
	}
	for i := range pb.OnFailure {
		path := fmt.Sprintf("on_failure[%d]", i)
		s := &pb.OnFailure[i]
		if s.Approval != nil {
			l.errorf(path+".approval", "on_failure steps cannot wait for approval: the playbook has already failed")
		}
		l.step(path, s, scope{rank: len(pb.Steps) + i, failure: true})
	}
}

// atlasID checks the i-th id of the playbook's atlas: list: its form, and,
// given the ATLAS catalog, that it is one of its techniques.
func (l *linter) atlasID(i int, id string) {
	catalog := l.c.opts.ATLAS
	switch {
	case !atlasIDPattern.MatchString(id):
		l.errorfItem("atlas", i, "%q is not a MITRE ATLAS id (like AML.T0024 or AML.T0024.001)", id)
	case catalog == nil:
	case strings.HasPrefix(id, "AML.TA"):
		l.errorfItem("atlas", i, "%q is a MITRE ATLAS tactic; list the techniques the playbook answers (aisoar atlas techniques shows them)", id)
	case catalog[id] == "":
		hint := ""
		if s := diag.Suggest(id, slices.Sorted(maps.Keys(catalog))); s != "" {
			hint = fmt.Sprintf(" (did you mean %q, %s?)", s, catalog[s])
		}
		l.errorfItem("atlas", i, "unknown MITRE ATLAS technique %q%s; aisoar atlas techniques lists the catalog", id, hint)
	}
}

// indexSteps records every step id with its rank, reporting missing,
// malformed and duplicate ids.
func (l *linter) indexSteps() {
	index := func(path string, s *Step, ref stepRef) {
		switch {
		case s.ID == "":
			if !ref.onFailure {
				l.errorf(path, "step %s needs an id", path)
			}
			return
		case !stepIDPattern.MatchString(s.ID):
			l.errorf(path+".id", "step id %q must start with a lowercase letter and hold only lowercase letters, digits and '_' (CEL reads it as steps.%s)", s.ID, s.ID)
		}
		if _, dup := l.steps[s.ID]; dup {
			l.errorf(path+".id", "duplicate step id %q", s.ID)
			return
		}
		l.steps[s.ID] = ref
	}
	var indexAll func(prefix string, steps []Step, rank int)
	indexAll = func(prefix string, steps []Step, rank int) {
		for i := range steps {
			r := rank
			if r < 0 {
				r = i
			}
			path := fmt.Sprintf("%s[%d]", prefix, i)
			index(path, &steps[i], stepRef{rank: r})
			indexAll(path+".parallel", steps[i].Parallel, r)
		}
	}
	indexAll("steps", l.pb.Steps, -1)
	for i := range l.pb.OnFailure {
		index(fmt.Sprintf("on_failure[%d]", i), &l.pb.OnFailure[i], stepRef{rank: len(l.pb.Steps) + i, onFailure: true})
	}
}

func (l *linter) step(path string, s *Step, sc scope) {
	l.condition(path+".when", s.When, sc)
	if s.Approval != nil {
		l.approval(path+".approval", s.Approval, sc)
	}
	if s.Parallel != nil {
		if len(s.Parallel) == 0 {
			l.errorf(path+".parallel", "parallel group %q has no steps", s.ID)
		}
		for i := range s.Parallel {
			child := &s.Parallel[i]
			childPath := fmt.Sprintf("%s.parallel[%d]", path, i)
			if child.Approval != nil {
				l.errorf(childPath+".approval", "step %q: approvals inside a parallel group are not supported; put the approval on the group", child.ID)
			}
			l.step(childPath, child, sc)
		}
		return
	}
	l.action(path, s.Action, s.With, sc)
	if s.Undo != nil {
		// Undo runs when the incident is resolved, after every step.
		l.action(path+".undo", s.Undo.Action, s.Undo.With, scope{rank: len(l.pb.Steps)})
	}
}

func (l *linter) approval(path string, a *Approval, sc scope) {
	if roles := l.c.opts.Roles; roles != nil {
		for _, r := range []struct{ key, role string }{{"role", a.Role}, {"escalate_to", a.EscalateTo}} {
			if r.role != "" && !slices.Contains(roles, r.role) {
				l.errorf(path+"."+r.key, "unknown approver role %q%s; roles come from the config file", r.role, diag.DidYouMean(r.role, roles))
			}
		}
	}
	l.template(path+".message", a.Message, sc, nil)
}

func (l *linter) action(path, name string, with map[string]any, sc scope) {
	for _, k := range slices.Sorted(maps.Keys(with)) {
		l.value(path+".with."+k, with[k], sc, nil)
	}
	catalog := l.c.opts.Catalog
	if catalog == nil || name == "" {
		return
	}
	spec, ok := catalog[name]
	if !ok {
		names := make([]string, 0, len(catalog))
		for n := range catalog {
			names = append(names, n)
		}
		slices.Sort(names)
		l.errorf(path+".action", "unknown action %q%s", name, diag.DidYouMean(name, names))
		return
	}
	l.params(path+".with", &spec, with)
}

// params checks a with: mapping against the action's declared parameters.
func (l *linter) params(path string, spec *ActionSpec, with map[string]any) {
	names := make([]string, len(spec.Params))
	for i, p := range spec.Params {
		names[i] = p.Name
	}
	for _, k := range slices.Sorted(maps.Keys(with)) {
		p := spec.Param(k)
		if p == nil {
			l.errorf(path+"."+k+"#key", "action %q has no parameter %q%s", spec.Name, k, diag.DidYouMean(k, names))
			continue
		}
		v := with[k]
		if s, ok := v.(string); ok && isTemplate(s) {
			l.template(path+"."+k, s, scope{rank: -1}, p)
			continue
		}
		if why := p.checkLiteral(v); why != "" {
			l.errorf(path+"."+k, "parameter %q of %s %s", k, spec.Name, why)
		}
	}
	for _, p := range spec.Params {
		if _, ok := with[p.Name]; p.Required && !ok {
			l.errorf(path, "action %q needs parameter %q (%s)", spec.Name, p.Name, p.Doc)
		}
	}
}

// value compiles every template inside a parameter value.
func (l *linter) value(path string, v any, sc scope, param *ParamSpec) {
	switch v := v.(type) {
	case string:
		l.template(path, v, sc, param)
	case []any:
		for i, item := range v {
			l.value(fmt.Sprintf("%s[%d]", path, i), item, sc, nil)
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			l.value(path+"."+k, v[k], sc, nil)
		}
	}
}

// template compiles the ${{ }} expressions of a string. A parameter that is
// one whole expression must have a type that fits param. Calls with rank -1
// only check the type of an expression compiled by an earlier call.
func (l *linter) template(path, s string, sc scope, param *ParamSpec) {
	if !isTemplate(s) {
		return
	}
	segs, at, err := splitTemplate(s)
	if err != nil {
		if sc.rank >= 0 {
			l.errorAt(path, at, exprProblem{Line: 1, Message: err.Error()})
		}
		return
	}
	if src, whole := wholeExpr(segs); whole && param != nil {
		if e := l.exprs[src]; e != nil && !param.celTypeFits(e.Type) {
			l.errorf(path, "parameter %q must be %s, but ${{ %s }} is %s", param.Name, param.Type.article(), src, e.Type)
		}
	}
	if sc.rank < 0 {
		return
	}
	for _, seg := range segs {
		if seg.isExpr {
			l.compile(path, seg.offset, seg.text, sc)
		}
	}
}

// condition compiles a when: expression, which must be a bool.
func (l *linter) condition(path, src string, sc scope) {
	if src == "" {
		return
	}
	e := l.compile(path, 0, src, sc)
	if e != nil && !e.Type.IsExactType(cel.BoolType) && e.Type.Kind() != cel.DynKind {
		l.errorAt(path, 0, exprProblem{Line: 1, Message: fmt.Sprintf("a condition must be a bool, but %q is %s", src, e.Type)})
	}
}

// compile compiles src found at offset in the string at path, checks what
// it refers to, and records it for the runtime.
func (l *linter) compile(path string, offset int, src string, sc scope) *Expr {
	e, problems := compileExpr(l.c.check, l.c.run, src)
	for _, p := range problems {
		p.Message = fmt.Sprintf("%s (in %q)", explainCEL(p.Message), src)
		l.errorAt(path, offset, p)
	}
	if e == nil {
		return nil
	}
	l.references(path, offset, e, sc)
	l.exprs[src] = e
	return e
}

var undeclaredReference = regexp.MustCompile(`undeclared reference to '([^']+)'`)
var undefinedField = regexp.MustCompile(`undefined field '([^']+)'`)

// explainCEL adds a "did you mean" to CEL's messages about unknown names.
func explainCEL(msg string) string {
	if m := undeclaredReference.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("unknown variable %q%s", m[1], diag.DidYouMean(m[1], variables))
	}
	if m := undefinedField.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("unknown field %q%s", m[1], diag.DidYouMean(m[1], celFieldNames()))
	}
	return msg
}

// celFieldNames lists the field names CEL knows on the declared types.
func celFieldNames() []string {
	var names []string
	var collect func(t reflect.Type)
	collect = func(t reflect.Type) {
		for f := range t.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "" && name != "-" {
				names = append(names, name)
			}
			if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() != "time" {
				collect(f.Type)
			}
		}
	}
	for _, t := range []reflect.Type{reflect.TypeFor[alerts.Alert](), reflect.TypeFor[PlaybookInfo](), reflect.TypeFor[IncidentInfo](), reflect.TypeFor[Failure]()} {
		collect(t)
	}
	return names
}

// references checks the variables and steps.<id> an expression uses.
func (l *linter) references(path string, offset int, e *Expr, sc scope) {
	native := e.ast.NativeRep()
	locate := func(id int64) exprProblem {
		loc := native.SourceInfo().GetStartLocation(id)
		return exprProblem{Line: loc.Line(), Col: loc.Column()}
	}
	celast.PostOrderVisit(native.Expr(), celast.NewExprVisitor(func(x celast.Expr) {
		if sc.trigger && x.Kind() != celast.IdentKind {
			return
		}
		switch x.Kind() {
		case celast.IdentKind:
			name := x.AsIdent()
			if !slices.Contains(variables, name) {
				return // a comprehension's own variable
			}
			switch {
			case sc.trigger && name != "alert" && name != "now":
				p := locate(x.ID())
				p.Message = fmt.Sprintf("a trigger sees only alert and now, not %s (in %q)", name, e.Source)
				l.errorAt(path, offset, p)
			case name == "failure" && !sc.failure:
				p := locate(x.ID())
				p.Message = fmt.Sprintf("failure is set only in on_failure steps (in %q)", e.Source)
				l.errorAt(path, offset, p)
			}
		case celast.SelectKind:
			sel := x.AsSelect()
			op := sel.Operand()
			if isIdent(op, "steps") {
				l.stepReference(path, offset, locate(x.ID()), sel.FieldName(), e.Source, sc)
			}
			if op.Kind() == celast.SelectKind && isIdent(op.AsSelect().Operand(), "steps") && !slices.Contains(stepFields, sel.FieldName()) {
				p := locate(x.ID())
				p.Message = fmt.Sprintf("steps.%s has no field %q%s; it has %s (in %q)", op.AsSelect().FieldName(), sel.FieldName(),
					diag.DidYouMean(sel.FieldName(), stepFields), strings.Join(stepFields, ", "), e.Source)
				l.errorAt(path, offset, p)
			}
		case celast.CallKind:
			call := x.AsCall()
			if call.FunctionName() != operators.Index || len(call.Args()) != 2 {
				return
			}
			op, key := call.Args()[0], call.Args()[1]
			if isIdent(op, "steps") && key.Kind() == celast.LiteralKind {
				if id, ok := key.AsLiteral().Value().(string); ok {
					l.stepReference(path, offset, locate(key.ID()), id, e.Source, sc)
				}
			}
		}
	}))
}

func isIdent(e celast.Expr, name string) bool {
	return e.Kind() == celast.IdentKind && e.AsIdent() == name
}

func (l *linter) stepReference(path string, offset int, at exprProblem, id, src string, sc scope) {
	ref, ok := l.steps[id]
	switch {
	case !ok:
		ids := make([]string, 0, len(l.steps))
		for k := range l.steps {
			ids = append(ids, k)
		}
		slices.Sort(ids)
		at.Message = fmt.Sprintf("no step %q in this playbook%s (in %q)", id, diag.DidYouMean(id, ids), src)
	case ref.rank >= sc.rank:
		at.Message = fmt.Sprintf("step %q does not run before this point, so steps.%s is not known yet (in %q)", id, id, src)
	default:
		return
	}
	l.errorAt(path, offset, at)
}

// errorAt reports a problem inside an expression that starts at offset in
// the YAML string at path, converting the expression's line and column into
// the file's.
func (l *linter) errorAt(path string, offset int, p exprProblem) {
	n := l.node(path)
	line, col := n.Line, n.Column
	switch n.Style {
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		col++
	case yaml.LiteralStyle, yaml.FoldedStyle:
		// The text starts on the next line, indented past the key.
		line++
		col = n.Column + 2
	}
	before := n.Value
	if offset <= len(before) {
		before = before[:offset]
	}
	if nl := strings.Count(before, "\n"); nl > 0 {
		line += nl
		col = l.indentOf(n) + len(before) - strings.LastIndex(before, "\n") - 1
	} else {
		col += offset
	}
	if p.Line > 1 {
		line += p.Line - 1
		col = l.indentOf(n) + p.Col
	} else {
		col += p.Col
	}
	if n.Line == 0 {
		line, col = 0, 0
	}
	l.diags = append(l.diags, Diagnostic{File: l.pb.File, Line: line, Col: col, Message: fmt.Sprintf("%s: %s", path, p.Message)})
}

// indentOf is the column where the continuation lines of a multi-line
// string start.
func (l *linter) indentOf(n *yaml.Node) int {
	if key, ok := l.pb.nodes[l.keyPath(n)]; ok {
		return key.Column + 2
	}
	return n.Column
}

func (l *linter) keyPath(n *yaml.Node) string {
	for p, v := range l.pb.nodes {
		if v == n {
			return p + "#key"
		}
	}
	return ""
}
