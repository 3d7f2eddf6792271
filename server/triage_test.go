package server

import (
	"strings"
	"testing"

	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/assets"
	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/playbooks"
)

func newTestCompiler(t *testing.T) *playbooks.Compiler {
	t.Helper()
	c, err := playbooks.NewCompiler(playbooks.CompilerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTriageCompileErrors(t *testing.T) {
	_, err := newTriage(newTestCompiler(t), &config.Triage{Default: config.ClassAIIncident, Rules: []config.TriageRule{
		{Name: "ok", When: `alert.category == "drift"`, Class: config.ClassPerformance},
		{Name: "typo", When: `alert.category == "drift" || alert.sevrity < 2`, Class: config.ClassPerformance},
		{Name: "not-bool", When: `alert.title`, Class: config.ClassPerformance},
	}})
	if err == nil {
		t.Fatal("newTriage accepted rules that do not compile")
	}
	for _, want := range []string{
		`triage.rules[1].when (rule typo): column 35: unknown field "sevrity"`,
		`triage.rules[2].when (rule not-bool): column 1: a condition must be a bool, but this is string`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "rules[0]") {
		t.Errorf("error blames the rule that compiles:\n%v", err)
	}
}

func TestTriageClassifies(t *testing.T) {
	tri, err := newTriage(newTestCompiler(t), &config.Triage{Default: config.ClassAIIncident, Rules: []config.TriageRule{
		{Name: "label", When: `alert.labels.kind == "drift"`, Class: config.ClassPerformance},
		{Name: "owner", When: `asset.owner == "data-science" && alert.severity <= 2`, Class: config.ClassPerformance},
		{Name: "poisoning-is-an-attack", When: `"AML.T0020" in alert.techniques`, Class: config.ClassAIIncident},
		{Name: "category", When: `alert.category == "model_performance"`, Class: config.ClassPerformance},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		alert    alerts.Alert
		asset    assets.Match
		want     string
		wantErrs bool
	}{
		{"first rule that holds", alerts.Alert{Labels: map[string]string{"kind": "drift"}}, assets.Match{}, config.ClassPerformance, false},
		{"asset decides", alerts.Alert{Severity: 2}, assets.Match{Owner: "data-science"}, config.ClassPerformance, true},
		{"an earlier rule wins", alerts.Alert{Category: "model_performance", Techniques: []string{"AML.T0020"}}, assets.Match{}, config.ClassAIIncident, true},
		{"category", alerts.Alert{Category: "model_performance"}, assets.Match{}, config.ClassPerformance, true},
		{"default", alerts.Alert{Category: "model_extraction", Severity: 4}, assets.Match{Owner: "data-science"}, config.ClassAIIncident, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := playbooks.NewVars(&tt.alert)
			vars.SetAsset(tt.asset)
			got, err := tri.classify(vars)
			if got != tt.want {
				t.Errorf("class %q, want %q", got, tt.want)
			}
			// A rule over a label the alert lacks does not hold, and says so.
			if (err != nil) != tt.wantErrs || (err != nil && !strings.Contains(err.Error(), "triage rule label")) {
				t.Errorf("errors %v, want them only for the missing label", err)
			}
		})
	}
}
