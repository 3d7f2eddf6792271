package playbooktest

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aisoar/aisoar/playbooks"
)

// TestLibraryScenarios runs the scenarios of every playbook of the
// embedded library. Each playbook must have them: at least three, among
// them an approval denied (when it asks for approvals) and an action
// failure.
func TestLibraryScenarios(t *testing.T) {
	c := newCompiler(t)
	lib, err := c.LoadLibrary(playbooks.LoadOptions{Builtin: true})
	if err != nil {
		t.Fatalf("the library does not load:\n%v", err)
	}
	pairs, err := Discover(nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != len(lib.Playbooks()) {
		t.Fatalf("discovered %d playbooks, the library has %d", len(pairs), len(lib.Playbooks()))
	}
	for _, compiled := range lib.Playbooks() {
		pb := compiled.Playbook
		t.Run(pb.ID, func(t *testing.T) {
			i := slices.IndexFunc(pairs, func(p Pair) bool { return p.Playbook == pb.File })
			if i < 0 || pairs[i].Scenarios == "" {
				t.Fatalf("%s has no scenarios: write %s_test.yaml beside it", pb.File, strings.TrimSuffix(pb.File, ".yaml"))
			}
			suite := loadSuite(t, pairs[i].Scenarios)
			requireCoverage(t, pb, suite)
			for _, sc := range suite.Scenarios {
				t.Run(sc.Name, func(t *testing.T) {
					if res := Run(context.Background(), c, pb, sc); !res.Passed() {
						t.Errorf("%s: scenario %q failed:\n%s", pairs[i].Scenarios, sc.Name, strings.Join(res.Mismatches, "\n"))
					}
				})
			}
		})
	}
}

// requireCoverage checks that a library playbook's scenarios take its main
// path, a denial and an action failure.
func requireCoverage(t *testing.T, pb *playbooks.Playbook, suite *Suite) {
	t.Helper()
	if n := len(suite.Scenarios); n < 3 {
		t.Errorf("%d scenario(s), want at least 3: the main path, a denial and an action failure", n)
	}
	asks := false
	pb.Walk(func(_ string, s *playbooks.Step) { asks = asks || s.Approval != nil })
	denied := slices.ContainsFunc(suite.Scenarios, func(sc *Scenario) bool {
		return slices.Contains(slicesValues(sc.Expect.Steps), "rejected")
	})
	if asks && !denied {
		t.Error("no scenario expects a step rejected: add the denial path")
	}
	failing := slices.ContainsFunc(suite.Scenarios, func(sc *Scenario) bool {
		return slices.ContainsFunc(slicesValues(sc.Actions), func(a *ActionStub) bool {
			return a != nil && (a.Error != nil || a.FailAttempts > 0)
		})
	})
	if !failing {
		t.Error("no scenario stubs an action failure: add one")
	}
}

func slicesValues[V any](m map[string]V) []V {
	var out []V
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}
