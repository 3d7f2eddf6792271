package playbooks_test

import (
	"testing"

	"github.com/aisoar/aisoar/activities"
	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/assets"
	"github.com/aisoar/aisoar/atlas"
	"github.com/aisoar/aisoar/playbooks"
)

func newCompiler(t testing.TB) *playbooks.Compiler {
	t.Helper()
	c, err := playbooks.NewCompiler(playbooks.CompilerOptions{Catalog: activities.Catalog(), Roles: []string{"soc", "soc-lead"},
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
	tests := []struct {
		name  string
		alert alerts.Alert
		want  []string
	}{
		{"extraction", alerts.Alert{Category: "model_extraction", Severity: 4}, []string{"model-extraction-containment"}},
		{"too mild", alerts.Alert{Category: "model_extraction", Severity: 2}, nil},
		{"other class", alerts.Alert{Category: "data_poisoning", Severity: 5}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			matched, err := lib.Match(&tt.alert, assets.Match{})
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
