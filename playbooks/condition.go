package playbooks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
)

// conditionVariables are the variables a standalone condition sees.
var conditionVariables = []string{"alert", "asset"}

// Condition is a boolean CEL expression over alert and asset, compiled
// outside any playbook, such as a triage rule of the config file.
type Condition struct {
	expr *Expr
}

// ConditionError lists what is wrong with a condition, each problem with
// its line and column in the expression (1-based).
type ConditionError struct {
	Source   string
	Problems []ConditionProblem
}

// ConditionProblem is one problem in a condition.
type ConditionProblem struct {
	Line, Col int
	Message   string
}

func (e *ConditionError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		at := fmt.Sprintf("column %d", p.Col)
		if p.Line > 1 {
			at = fmt.Sprintf("line %d column %d", p.Line, p.Col)
		}
		parts[i] = at + ": " + p.Message
	}
	return fmt.Sprintf("%s (in %q)", strings.Join(parts, "; "), e.Source)
}

// CompileCondition type-checks src as a bool over alert and asset, with
// the playbooks' CEL environment and cost bounds. A problem is a
// *ConditionError that points at the column.
func (c *Compiler) CompileCondition(src string) (*Condition, error) {
	e, problems := compileExpr(c.check, c.run, src)
	cerr := &ConditionError{Source: src}
	for _, p := range problems {
		cerr.Problems = append(cerr.Problems, ConditionProblem{Line: p.Line, Col: p.Col + 1, Message: explainCEL(p.Message)})
	}
	if e != nil {
		native := e.ast.NativeRep()
		celast.PostOrderVisit(native.Expr(), celast.NewExprVisitor(func(x celast.Expr) {
			if x.Kind() != celast.IdentKind {
				return
			}
			name := x.AsIdent()
			if slices.Contains(variables, name) && !slices.Contains(conditionVariables, name) {
				loc := native.SourceInfo().GetStartLocation(x.ID())
				cerr.Problems = append(cerr.Problems, ConditionProblem{Line: loc.Line(), Col: loc.Column() + 1,
					Message: fmt.Sprintf("a condition here sees only alert and asset, not %s", name)})
			}
		}))
		if !e.Type.IsExactType(cel.BoolType) && e.Type.Kind() != cel.DynKind {
			cerr.Problems = append(cerr.Problems, ConditionProblem{Line: 1, Col: 1, Message: fmt.Sprintf("a condition must be a bool, but this is %s", e.Type)})
		}
	}
	if len(cerr.Problems) > 0 {
		return nil, cerr
	}
	return &Condition{expr: e}, nil
}

// Eval evaluates the condition; vars holds the alert and the asset (see
// NewVars and Vars.SetAsset).
func (c *Condition) Eval(vars *Vars) (bool, error) { return c.expr.EvalBool(vars) }
