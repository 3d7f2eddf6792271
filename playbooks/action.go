package playbooks

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/google/cel-go/cel"

	"github.com/aisoar/aisoar/internal/diag"
)

// ParamType is the type an action parameter accepts.
type ParamType string

// Parameter types. A parameter given as one whole ${{ }} expression is
// checked against the expression's CEL type; any other literal against the
// YAML value.
const (
	TypeString   ParamType = "string"
	TypeInt      ParamType = "int"
	TypeNumber   ParamType = "number"
	TypeBool     ParamType = "bool"
	TypeDuration ParamType = "duration"
	TypeList     ParamType = "list"
	TypeMap      ParamType = "map"
	TypeAny      ParamType = "any"
)

// ParamSpec declares one parameter of an action.
type ParamSpec struct {
	Name     string    `json:"name"`
	Type     ParamType `json:"type"`
	Required bool      `json:"required,omitempty"`
	Doc      string    `json:"doc"`
	// Enum, when set, lists the only values a string parameter may take.
	Enum []string `json:"enum,omitempty"`
}

// ActionSpec declares an action: what playbooks may call and with which
// parameters. The linter checks steps against it and `aisoar actions` prints it.
type ActionSpec struct {
	Name   string      `json:"name"`
	Doc    string      `json:"doc"`
	Params []ParamSpec `json:"params"`
	// Heartbeat, when set, is the action's heartbeat timeout: it
	// heartbeats more often than this, so a worker that dies mid-step is
	// noticed then rather than at the step's timeout.
	Heartbeat Duration `json:"heartbeat,omitempty"`
}

// Param returns the parameter with the given name, or nil.
func (a *ActionSpec) Param(name string) *ParamSpec {
	for i := range a.Params {
		if a.Params[i].Name == name {
			return &a.Params[i]
		}
	}
	return nil
}

// Catalog is the set of actions playbooks may use, by name.
type Catalog map[string]ActionSpec

// checkLiteral reports why a YAML literal does not fit the parameter, or "".
func (p *ParamSpec) checkLiteral(v any) string {
	ok := true
	switch p.Type {
	case TypeString:
		s, isString := v.(string)
		ok = isString
		if ok && len(p.Enum) > 0 && !slices.Contains(p.Enum, s) {
			return fmt.Sprintf("must be one of %v, not %q%s", p.Enum, s, diag.DidYouMean(s, p.Enum))
		}
	case TypeInt:
		switch n := v.(type) {
		case int:
		case float64: // a playbook passed to the workflow comes back from JSON
			ok = n == math.Trunc(n)
		default:
			ok = false
		}
	case TypeNumber:
		switch v.(type) {
		case int, float64:
		default:
			ok = false
		}
	case TypeBool:
		_, ok = v.(bool)
	case TypeDuration:
		s, isString := v.(string)
		if !isString {
			ok = false
			break
		}
		if _, err := time.ParseDuration(s); err != nil {
			return fmt.Sprintf("bad duration %q: write it like 30s, 5m or 1h30m", s)
		}
	case TypeList:
		_, ok = v.([]any)
	case TypeMap:
		_, ok = v.(map[string]any)
	}
	if !ok {
		return fmt.Sprintf("must be %s, not %s", p.Type.article(), describeValue(v))
	}
	return ""
}

// celTypeFits reports whether an expression of CEL type t can fill the parameter.
func (p *ParamSpec) celTypeFits(t *cel.Type) bool {
	if t.Kind() == cel.DynKind || p.Type == TypeAny {
		return true
	}
	switch p.Type {
	case TypeString, TypeDuration:
		return t.IsExactType(cel.StringType) || (p.Type == TypeDuration && t.IsExactType(cel.DurationType))
	case TypeInt:
		return t.IsExactType(cel.IntType) || t.IsExactType(cel.UintType)
	case TypeNumber:
		return t.IsExactType(cel.IntType) || t.IsExactType(cel.UintType) || t.IsExactType(cel.DoubleType)
	case TypeBool:
		return t.IsExactType(cel.BoolType)
	case TypeList:
		return t.Kind() == cel.ListKind
	case TypeMap:
		return t.Kind() == cel.MapKind || t.Kind() == cel.StructKind
	}
	return true
}

func (t ParamType) article() string {
	switch t {
	case TypeInt:
		return "an int"
	case TypeAny:
		return "any value"
	}
	return "a " + string(t)
}

func describeValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "empty"
	case string:
		return fmt.Sprintf("the string %q", v)
	case int:
		return fmt.Sprintf("the int %d", v)
	case float64:
		return fmt.Sprintf("the number %g", v)
	case bool:
		return fmt.Sprintf("%t", v)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}
