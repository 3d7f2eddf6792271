package alerts

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"
	"google.golang.org/protobuf/types/known/structpb"
)

// celMappingCostLimit bounds one mapping expression's evaluation.
const celMappingCostLimit = 1_000_000

// CELMapping sets alert fields with CEL expressions over the raw payload,
// so a source can be adapted in config without code:
//
//	category: 'payload.rule.name.contains("extraction") ? "model_extraction" : "other"'
//
// Expressions see `payload` (the JSON body) and `alert` (the alert as the
// decoder made it, with the json field names).
type CELMapping struct {
	fields []celField
}

type celField struct {
	name string
	src  string
	prg  cel.Program
}

// celMappingFields are the alert fields a mapping may set.
var celMappingFields = []string{
	"id", "rule", "title", "severity", "status", "time", "category", "techniques", "group_key",
	"asset.model", "asset.endpoint", "asset.pipeline", "asset.tenant", "asset.key_id", "labels",
}

// NewCELMapping compiles every expression, reporting all that fail as
// "field: line:col: message (in "expr")".
func NewCELMapping(exprs map[string]string) (*CELMapping, error) {
	env, err := cel.NewEnv(
		cel.Variable("payload", cel.DynType),
		cel.Variable("alert", cel.MapType(cel.StringType, cel.DynType)),
		ext.Strings(), ext.Lists(), ext.Sets(), cel.OptionalTypes(),
	)
	if err != nil {
		return nil, err
	}
	var (
		m    CELMapping
		errs []error
	)
	names := make([]string, 0, len(exprs))
	for name := range exprs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		src := exprs[name]
		if !slices.Contains(celMappingFields, name) {
			errs = append(errs, fmt.Errorf("%s: not an alert field (one of %s)", name, strings.Join(celMappingFields, ", ")))
			continue
		}
		ast, iss := env.Compile(src)
		if iss.Err() != nil {
			for _, e := range iss.Errors() {
				errs = append(errs, fmt.Errorf("%s: %d:%d: %s (in %q)", name, e.Location.Line(), e.Location.Column()+1, e.Message, src))
			}
			continue
		}
		prg, err := env.Program(ast, cel.CostLimit(celMappingCostLimit))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %v (in %q)", name, err, src))
			continue
		}
		m.fields = append(m.fields, celField{name: name, src: src, prg: prg})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &m, nil
}

// Apply evaluates the expressions against the alert's raw payload and sets
// the fields. A failing expression is a *FieldError naming the field.
func (m *CELMapping) Apply(a *Alert) error {
	if len(m.fields) == 0 {
		return nil
	}
	var payload any
	if err := json.Unmarshal(a.Raw, &payload); err != nil {
		return &FieldError{Reason: err.Error(), Err: err}
	}
	decoded, err := alertAsMap(a)
	if err != nil {
		return err
	}
	vars := map[string]any{"payload": payload, "alert": decoded}
	for _, f := range m.fields {
		out, _, err := f.prg.Eval(vars)
		if err != nil {
			return &FieldError{Field: f.name, Reason: fmt.Sprintf("mapping %q: %v", f.src, err), Err: err}
		}
		if err := setField(a, f.name, plain(out)); err != nil {
			return &FieldError{Field: f.name, Reason: fmt.Sprintf("mapping %q: %v", f.src, err), Err: err}
		}
	}
	return nil
}

// plain converts a CEL result to Go data: scalars as they are, lists and
// maps through their JSON form.
func plain(v ref.Val) any {
	switch v.(type) {
	case types.Bool, types.Int, types.Uint, types.Double, types.String, types.Timestamp, types.Null:
		return v.Value()
	}
	if pb, err := v.ConvertToNative(reflect.TypeFor[*structpb.Value]()); err == nil {
		return pb.(*structpb.Value).AsInterface()
	}
	return v.Value()
}

func alertAsMap(a *Alert) (map[string]any, error) {
	copied := *a
	copied.Raw = nil
	data, err := json.Marshal(&copied)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(data, &m)
}

// setField stores a mapping's result in the alert field it names.
func setField(a *Alert, name string, v any) error {
	strField := map[string]*string{
		"id": &a.ID, "rule": &a.Rule, "title": &a.Title, "status": &a.Status, "category": &a.Category,
		"group_key": &a.GroupKey, "asset.model": &a.Asset.Model, "asset.endpoint": &a.Asset.Endpoint,
		"asset.pipeline": &a.Asset.Pipeline, "asset.tenant": &a.Asset.Tenant, "asset.key_id": &a.Asset.KeyID,
	}
	if p, ok := strField[name]; ok {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("gave %T, want a string", v)
		}
		*p = s
		return nil
	}
	switch name {
	case "severity":
		sev, err := ParseSeverity(v)
		if err != nil {
			return err
		}
		a.Severity = sev
	case "time":
		switch t := v.(type) {
		case time.Time:
			a.Time = t.UTC()
		case string:
			parsed, err := time.Parse(time.RFC3339Nano, t)
			if err != nil {
				return err
			}
			a.Time = parsed.UTC()
		default:
			return fmt.Errorf("gave %T, want a timestamp or an RFC 3339 string", v)
		}
	case "techniques":
		list, err := stringList(v)
		if err != nil {
			return err
		}
		a.Techniques = list
	case "labels":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("gave %T, want a map of strings", v)
		}
		a.Labels = map[string]string{}
		for k, item := range m {
			a.Labels[k] = fmt.Sprint(item)
		}
	}
	return nil
}

func stringList(v any) ([]string, error) {
	var out []string
	switch l := v.(type) {
	case []any:
		for _, item := range l {
			s, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("list holds %T, want strings", item)
			}
			out = append(out, s)
		}
	case []string:
		out = l
	default:
		return nil, fmt.Errorf("gave %T, want a list of strings", v)
	}
	return out, nil
}
