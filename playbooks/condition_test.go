package playbooks_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/assets"
	"github.com/aisoar/aisoar/playbooks"
)

func TestCompileConditionErrors(t *testing.T) {
	c := newCompiler(t)
	tests := []struct {
		name string
		src  string
		want []string // each must appear in the error
	}{
		{"unknown field", `alert.categry == "drift"`, []string{"column 6: unknown field \"categry\"", `did you mean "category"`}},
		{"not a bool", `alert.severity + 1`, []string{"column 1: a condition must be a bool, but this is int"}},
		{"a playbook variable", `alert.severity > 2 && steps.a.ok`, []string{"column 23: a condition here sees only alert and asset, not steps"}},
		{"syntax", "alert.severity >\n  ", []string{"line 2 column", "Syntax error"}},
		{"unknown variable", `aler.severity > 2`, []string{"column 1: unknown variable \"aler\"", `did you mean "alert"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.CompileCondition(tt.src)
			var cerr *playbooks.ConditionError
			if !errors.As(err, &cerr) {
				t.Fatalf("CompileCondition(%q) = %v, want a *ConditionError", tt.src, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestConditionEval(t *testing.T) {
	c := newCompiler(t)
	cond, err := c.CompileCondition(`alert.category == "drift" || asset.owner == "data-science"`)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		alert alerts.Alert
		asset assets.Match
		want  bool
	}{
		{"alert field", alerts.Alert{Category: "drift"}, assets.Match{}, true},
		{"asset field", alerts.Alert{Category: "model_extraction"}, assets.Match{Owner: "data-science"}, true},
		{"neither", alerts.Alert{Category: "model_extraction"}, assets.Match{Owner: "fraud-ml"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := playbooks.NewVars(&tt.alert)
			vars.SetAsset(tt.asset)
			got, err := cond.Eval(vars)
			if err != nil || got != tt.want {
				t.Errorf("Eval = %t, %v; want %t", got, err, tt.want)
			}
		})
	}
}
