package activities

import (
	"context"

	"github.com/aisoar/aisoar/playbooks"
)

var setSpec = playbooks.ActionSpec{
	Name: "set",
	Doc:  "Records values as the step's output, so later steps can use them as steps.<id>.output.<name>.",
	Params: []playbooks.ParamSpec{
		{Name: "values", Type: playbooks.TypeMap, Required: true, Doc: "names and values, usually ${{ }} expressions"},
	},
}

// SetParams are the set action's parameters.
type SetParams struct {
	Values map[string]any `json:"values"`
}

func runSet(_ context.Context, p SetParams) (map[string]any, error) {
	return p.Values, nil
}
