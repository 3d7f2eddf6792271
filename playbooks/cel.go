package playbooks

import (
	"fmt"
	"reflect"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"
	"github.com/google/cel-go/interpreter"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/aisoar/aisoar/alerts"
)

// CostLimit bounds the work one expression evaluation may do, so a playbook
// cannot stall a workflow task with a runaway comprehension.
const CostLimit = 100_000

// StepState is what later CEL sees of a step as steps.<id>.
type StepState struct {
	// OK is true when the step ran and succeeded.
	OK bool `json:"ok"`
	// Skipped is true when its condition was false, its approval was refused,
	// or the playbook ended before it.
	Skipped bool           `json:"skipped"`
	Output  map[string]any `json:"output"`
	Error   string         `json:"error"`
}

// PlaybookInfo is what CEL sees as playbook.
type PlaybookInfo struct {
	ID      string `json:"id"`
	Version int64  `json:"version"`
	Title   string `json:"title"`
	Hash    string `json:"hash"`
}

// IncidentInfo is what CEL sees as incident.
type IncidentInfo struct {
	ID         string    `json:"id"`
	AlertCount int64     `json:"alert_count"`
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
}

// Failure is what on_failure steps see as failure.
type Failure struct {
	Step  string `json:"step"`
	Error string `json:"error"`
}

// celValue is the step as CEL sees it: a map, since CEL's native types
// cannot hold the free-form output.
func (s StepState) celValue() map[string]any {
	output := s.Output
	if output == nil {
		output = map[string]any{}
	}
	return map[string]any{"ok": s.OK, "skipped": s.Skipped, "output": output, "error": s.Error}
}

// stepFields are the fields of steps.<id>.
var stepFields = []string{"ok", "skipped", "output", "error"}

// Vars are the values CEL expressions are evaluated against.
type Vars struct {
	Alert *alerts.Alert
	// steps holds each step's celValue by id; see SetStep.
	steps    map[string]any
	Playbook PlaybookInfo
	Incident IncidentInfo
	Now      time.Time
	Failure  Failure
}

// ResolveName implements interpreter.Activation without building a map per
// evaluation.
func (v *Vars) ResolveName(name string) (any, bool) {
	switch name {
	case "alert":
		return v.Alert, v.Alert != nil
	case "steps":
		return v.steps, true
	case "playbook":
		return v.Playbook, true
	case "incident":
		return v.Incident, true
	case "now":
		return v.Now, true
	case "failure":
		return v.Failure, true
	}
	return nil, false
}

// SetStep records what later expressions see as steps.<id>.
func (v *Vars) SetStep(id string, s StepState) {
	if v.steps == nil {
		v.steps = map[string]any{}
	}
	v.steps[id] = s.celValue()
}

// Parent implements interpreter.Activation.
func (v *Vars) Parent() interpreter.Activation { return nil }

// NewEnv returns the CEL environment every playbook expression is compiled in.
// Field names are the json names of the Go types (alert.asset.key_id).
func NewEnv() (*cel.Env, error) {
	return cel.NewEnv(
		ext.NativeTypes(
			ext.ParseStructTag("json"),
			reflect.TypeFor[alerts.Alert](),
			reflect.TypeFor[PlaybookInfo](),
			reflect.TypeFor[IncidentInfo](),
			reflect.TypeFor[Failure](),
		),
		cel.Variable("alert", cel.ObjectType("alerts.Alert")),
		cel.Variable("steps", cel.MapType(cel.StringType, cel.MapType(cel.StringType, cel.DynType))),
		cel.Variable("playbook", cel.ObjectType("playbooks.PlaybookInfo")),
		cel.Variable("incident", cel.ObjectType("playbooks.IncidentInfo")),
		cel.Variable("now", cel.TimestampType),
		cel.Variable("failure", cel.ObjectType("playbooks.Failure")),
		ext.Strings(),
		ext.Lists(),
		ext.Sets(),
		cel.OptionalTypes(),
	)
}

// Expr is a compiled, type-checked CEL expression.
type Expr struct {
	Source string
	Type   *cel.Type
	ast    *cel.Ast
	prg    cel.Program
}

// exprProblem is a compile error inside an expression: Line is 1-based and
// Col 0-based within the expression text, as cel-go reports them.
type exprProblem struct {
	Line, Col int
	Message   string
}

// compileExpr compiles and type-checks src.
func compileExpr(env *cel.Env, src string) (*Expr, []exprProblem) {
	ast, iss := env.Compile(src)
	if iss.Err() != nil {
		var problems []exprProblem
		for _, e := range iss.Errors() {
			problems = append(problems, exprProblem{Line: e.Location.Line(), Col: e.Location.Column(), Message: e.Message})
		}
		return nil, problems
	}
	out := ast.OutputType()
	prg, err := env.Program(ast, cel.CostLimit(CostLimit), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, []exprProblem{{Line: 1, Message: err.Error()}}
	}
	return &Expr{Source: src, Type: out, ast: ast, prg: prg}, nil
}

// Eval evaluates the expression and returns its value as plain Go data
// (string, int64, float64, bool, time.Time, []any, map[string]any).
func (e *Expr) Eval(vars *Vars) (any, error) {
	out, _, err := e.prg.Eval(vars)
	if err != nil {
		return nil, fmt.Errorf("evaluating %q: %w", e.Source, err)
	}
	return nativeValue(out)
}

// EvalBool evaluates a condition.
func (e *Expr) EvalBool(vars *Vars) (bool, error) {
	out, _, err := e.prg.Eval(vars)
	if err != nil {
		return false, fmt.Errorf("evaluating %q: %w", e.Source, err)
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("evaluating %q: got %s, want bool", e.Source, out.Type())
	}
	return bool(b), nil
}

// nativeValue converts a CEL value to JSON-friendly Go data.
func nativeValue(v ref.Val) (any, error) {
	switch v := v.(type) {
	case types.Bool, types.Int, types.Uint, types.Double, types.String, types.Timestamp, types.Null:
		return v.Value(), nil
	case types.Duration:
		return v.Value().(time.Duration).String(), nil
	}
	if pb, err := v.ConvertToNative(reflect.TypeFor[*structpb.Value]()); err == nil {
		return pb.(*structpb.Value).AsInterface(), nil
	}
	// Native Go objects (alert.asset, steps.x) are already plain data.
	return v.Value(), nil
}
