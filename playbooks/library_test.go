package playbooks_test

import (
	"testing"

	"github.com/aisoar/aisoar/activities"
	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/atlas"
	"github.com/aisoar/aisoar/playbooks"
)

func newCompiler(t testing.TB) *playbooks.Compiler {
	t.Helper()
	c, err := playbooks.NewCompiler(playbooks.CompilerOptions{Catalog: activities.Catalog(), Roles: []string{"soc", "soc-lead", "mlops", "data-science", "risk"},
		ATLAS: atlas.Default().Names()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBuiltinLibraryLoadsAndMatches(t *testing.T) {
	lib, err := newCompiler(t).LoadLibrary(playbooks.LoadOptions{Builtin: true})
	if err != nil {
		t.Fatalf("built-in library does not load:\n%v", err)
	}
	const attack, performance = playbooks.ClassAIIncident, playbooks.ClassPerformance
	tests := []struct {
		name  string
		alert alerts.Alert
		class string
		want  []string
	}{
		{"extraction", alerts.Alert{Category: "model_extraction", Severity: 4}, attack, []string{"model-extraction-containment"}},
		{"too mild", alerts.Alert{Category: "model_extraction", Severity: 2}, attack, nil},
		{"poisoning", alerts.Alert{Category: "data_poisoning", Severity: 5}, attack, []string{"data-poisoning-containment"}},
		{"evasion", alerts.Alert{Category: "adversarial_evasion", Severity: 3}, attack, []string{"adversarial-evasion-response"}},
		{"supply chain", alerts.Alert{Category: "supply_chain", Severity: 4}, attack, []string{"model-supply-chain-response"}},
		{"leaked key", alerts.Alert{Category: "credential_leak", Severity: 2}, attack, []string{"leaked-credential-response"}},
		{"drift", alerts.Alert{Category: "model_performance", Severity: 2}, performance, []string{"model-performance-notify"}},
		{"extraction reclassified as performance", alerts.Alert{Category: "model_extraction", Severity: 4}, performance, []string{"model-performance-notify"}},
		{"an attack class nothing answers", alerts.Alert{Category: "other", Severity: 5}, attack, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			matched, err := lib.Match(&tt.alert, playbooks.NewVars(&tt.alert), tt.class)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, m := range matched {
				ids = append(ids, m.Playbook.ID)
			}
			if len(ids) != len(tt.want) || (len(ids) > 0 && ids[0] != tt.want[0]) {
				t.Errorf("matched %v, want %v", ids, tt.want)
			}
		})
	}
}
