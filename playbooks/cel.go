package playbooks

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"
	"github.com/google/cel-go/interpreter"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/assets"
)

// CostLimit bounds the work one expression evaluation may do (in CEL cost
// units, about one per field read or comparison; a million is a few hundred
// milliseconds at worst), so a playbook cannot stall a workflow task.
const CostLimit = 1_000_000

// MaxValueBytes is the longest string an expression can be given: no webhook
// body (config max_body_bytes) or action output is larger.
const MaxValueBytes = 4 << 20

// valueBounds tells CEL's cost estimator how large variables can be, from
// the bounds the alert decoders enforce. Expressions whose worst case stays
// under CostLimit are proven bounded and evaluate without cost tracking,
// which makes them several times faster; the others are tracked and
// stopped at the limit.
type valueBounds struct{}

func (valueBounds) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	switch path := n.Path(); {
	case len(path) == 2 && path[0] == "alert" && path[1] == "techniques":
		return &checker.SizeEstimate{Max: alerts.MaxTechniques}
	case len(path) == 2 && path[0] == "alert" && path[1] == "labels":
		return &checker.SizeEstimate{Max: alerts.MaxLabels}
	}
	return &checker.SizeEstimate{Max: MaxValueBytes}
}

func (valueBounds) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

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
	// Source is the playbook's YAML text, whose SHA-256 is Hash.
	Source string `json:"source"`
}

// IncidentInfo is what CEL sees as incident.
type IncidentInfo struct {
	ID         string    `json:"id"`
	AlertCount int64     `json:"alert_count"`
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
	// SlackChannel and SlackThread address the incident's first Slack
	// message, for replies in its thread; empty until one is posted.
	SlackChannel string `json:"slack_channel"`
	SlackThread  string `json:"slack_thread"`
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

// Vars are the values CEL expressions are evaluated against. Each value is
// converted to CEL values once, when it is set, so an evaluation only looks
// fields up.
type Vars struct {
	alert    ref.Val
	asset    ref.Val
	steps    map[ref.Val]ref.Val
	stepsVal ref.Val
	playbook ref.Val
	incident ref.Val
	failure  ref.Val
	now      ref.Val
}

// NewVars returns the variables for an alert; the others start empty.
func NewVars(a *alerts.Alert) *Vars {
	v := &Vars{steps: map[ref.Val]ref.Val{}}
	v.stepsVal = types.NewRefValMap(types.DefaultTypeAdapter, v.steps)
	v.now = types.Timestamp{}
	v.SetAlert(a)
	v.SetAsset(assets.Match{})
	v.SetPlaybook(PlaybookInfo{})
	v.SetIncident(IncidentInfo{})
	v.SetFailure(Failure{})
	return v
}

// SetAlert sets alert.
func (v *Vars) SetAlert(a *alerts.Alert) {
	labels := a.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	techniques := a.Techniques
	if techniques == nil {
		techniques = []string{}
	}
	v.alert = celValue(map[string]any{
		"id": a.ID, "source": a.Source, "rule": a.Rule, "title": a.Title, "severity": a.Severity,
		"status": a.Status, "time": a.Time, "received": a.Received, "category": a.Category,
		"techniques": techniques, "labels": labels, "group_key": a.GroupKey,
		"asset": map[string]any{
			"model": a.Asset.Model, "endpoint": a.Asset.Endpoint, "pipeline": a.Asset.Pipeline,
			"tenant": a.Asset.Tenant, "key_id": a.Asset.KeyID,
		},
	})
}

// SetAsset sets asset: the inventory entries the alert names.
func (v *Vars) SetAsset(m assets.Match) { v.asset = celValue(structValue(reflect.ValueOf(m))) }

// structValue turns a struct into the map CEL reads, by json names, with
// every field present and nil lists empty, as the checked type promises.
func structValue(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Struct:
		m := make(map[string]any, v.NumField())
		for i := range v.NumField() {
			if name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
				m[name] = structValue(v.Field(i))
			}
		}
		return m
	case reflect.Slice:
		l := make([]any, v.Len())
		for i := range l {
			l[i] = structValue(v.Index(i))
		}
		return l
	}
	return v.Interface()
}

// SetStep records what later expressions see as steps.<id>.
func (v *Vars) SetStep(id string, s StepState) { v.steps[types.String(id)] = celValue(s.celValue()) }

// SetPlaybook sets playbook.
func (v *Vars) SetPlaybook(p PlaybookInfo) {
	v.playbook = celValue(map[string]any{"id": p.ID, "version": p.Version, "title": p.Title, "hash": p.Hash, "source": p.Source})
}

// SetIncident sets incident.
func (v *Vars) SetIncident(i IncidentInfo) {
	v.incident = celValue(map[string]any{
		"id": i.ID, "alert_count": i.AlertCount, "first_seen": i.FirstSeen, "last_seen": i.LastSeen,
		"slack_channel": i.SlackChannel, "slack_thread": i.SlackThread,
	})
}

// SetFailure sets failure.
func (v *Vars) SetFailure(f Failure) {
	v.failure = celValue(map[string]any{"step": f.Step, "error": f.Error})
}

// SetNow sets now.
func (v *Vars) SetNow(t time.Time) { v.now = types.Timestamp{Time: t} }

// ResolveName implements interpreter.Activation.
func (v *Vars) ResolveName(name string) (any, bool) {
	switch name {
	case "alert":
		return v.alert, true
	case "asset":
		return v.asset, true
	case "steps":
		return v.stepsVal, true
	case "playbook":
		return v.playbook, true
	case "incident":
		return v.incident, true
	case "now":
		return v.now, true
	case "failure":
		return v.failure, true
	}
	return nil, false
}

// celValue converts Go data to CEL values all the way down, so evaluations
// do not convert the same values again.
func celValue(v any) ref.Val {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[ref.Val]ref.Val, len(v))
		for k, item := range v {
			m[types.String(k)] = celValue(item)
		}
		return types.NewRefValMap(types.DefaultTypeAdapter, m)
	case map[string]string:
		m := make(map[ref.Val]ref.Val, len(v))
		for k, item := range v {
			m[types.String(k)] = types.String(item)
		}
		return types.NewRefValMap(types.DefaultTypeAdapter, m)
	case []string:
		l := make([]ref.Val, len(v))
		for i, item := range v {
			l[i] = types.String(item)
		}
		return types.NewRefValList(types.DefaultTypeAdapter, l)
	case []any:
		l := make([]ref.Val, len(v))
		for i, item := range v {
			l[i] = celValue(item)
		}
		return types.NewRefValList(types.DefaultTypeAdapter, l)
	}
	return types.DefaultTypeAdapter.NativeToValue(v)
}

// Parent implements interpreter.Activation.
func (v *Vars) Parent() interpreter.Activation { return nil }

// variables are the names every expression may use.
var variables = []string{"alert", "asset", "steps", "playbook", "incident", "now", "failure"}

// newEnvs returns the two CEL environments: check declares every variable
// with its Go type, so the linter catches unknown fields and wrong types;
// run declares them dynamic, so programs read the plain maps of Vars
// without reflection. An expression is checked in the first and planned in
// the second.
func newEnvs() (check, run *cel.Env, err error) {
	common := []cel.EnvOption{ext.Strings(), ext.Lists(), ext.Sets(), cel.OptionalTypes()}
	check, err = cel.NewEnv(append(common,
		ext.NativeTypes(
			ext.ParseStructTag("json"),
			reflect.TypeFor[alerts.Alert](),
			reflect.TypeFor[assets.Match](),
			reflect.TypeFor[PlaybookInfo](),
			reflect.TypeFor[IncidentInfo](),
			reflect.TypeFor[Failure](),
		),
		cel.Variable("alert", cel.ObjectType("alerts.Alert")),
		cel.Variable("asset", cel.ObjectType("assets.Match")),
		cel.Variable("steps", cel.MapType(cel.StringType, cel.MapType(cel.StringType, cel.DynType))),
		cel.Variable("playbook", cel.ObjectType("playbooks.PlaybookInfo")),
		cel.Variable("incident", cel.ObjectType("playbooks.IncidentInfo")),
		cel.Variable("now", cel.TimestampType),
		cel.Variable("failure", cel.ObjectType("playbooks.Failure")),
	)...)
	if err != nil {
		return nil, nil, err
	}
	runOpts := slices.Clone(common)
	for _, name := range variables {
		runOpts = append(runOpts, cel.Variable(name, cel.DynType))
	}
	run, err = cel.NewEnv(runOpts...)
	return check, run, err
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

// compileExpr type-checks src in the check environment and plans its
// program in the run environment.
func compileExpr(check, run *cel.Env, src string) (*Expr, []exprProblem) {
	ast, iss := check.Compile(src)
	if iss.Err() != nil {
		var problems []exprProblem
		for _, e := range iss.Errors() {
			problems = append(problems, exprProblem{Line: e.Location.Line(), Col: e.Location.Column(), Message: e.Message})
		}
		return nil, problems
	}
	out := ast.OutputType()
	runAST, iss := run.Compile(src)
	if iss.Err() != nil {
		return nil, []exprProblem{{Line: 1, Message: iss.Err().Error()}}
	}
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	if cost, err := check.EstimateCost(ast, valueBounds{}); err != nil || cost.Max > CostLimit {
		opts = append(opts, cel.CostLimit(CostLimit))
	}
	prg, err := run.Program(runAST, opts...)
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
