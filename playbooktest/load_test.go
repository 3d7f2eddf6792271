package playbooktest

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aisoar/aisoar/internal/diag"
)

// TestLoadDiagnostics checks that every problem of a scenario file is
// reported at once, at its file:line:col.
func TestLoadDiagnostics(t *testing.T) {
	_, err := Load("testdata/invalid/scenarios.yaml")
	var diags diag.Diagnostics
	if !errors.As(err, &diags) {
		t.Fatalf("error = %v, want diagnostics", err)
	}
	golden(t, "testdata/invalid/scenarios.golden", []byte(diags.Error()+"\n"))
}

func TestLoadShapes(t *testing.T) {
	suite := loadSuite(t, "testdata/containment_test.yaml")
	sc := suite.Scenarios[0]
	if d := sc.Approvals["rotate"]; len(d) != 2 || d[1].By != "bob" || !d[1].Approve {
		t.Errorf("two-person decisions = %+v", d)
	}
	if d := sc.Approvals["notify_tenant"]; len(d) != 1 || !d[0].Approve || d[0].By != "" {
		t.Errorf("a single decision = %+v", d)
	}
	// The merge key lays the anchored alert under the keys beside it.
	if a := suite.Scenarios[4].Alert; a["severity"] != float64(3) || a["category"] != "model_extraction" {
		t.Errorf("merged alert = %v", a)
	}
	if _, err := Load("testdata/missing_test.yaml"); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestDiscover(t *testing.T) {
	dir := t.TempDir()
	// testdata holds fixtures, not playbooks: an inventory, a lint case.
	for _, f := range []string{"a.yaml", "a_test.yaml", "b.yml", "b_test.yml", "c.yaml", "sub/d.yaml", "sub/d_test.yaml",
		"testdata/inventory.yaml", "sub/testdata/lint/e.yaml", "sub/testdata/lint/e_test.yaml"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x: 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	at := func(f string) string { return filepath.Join(dir, f) }
	want := []Pair{
		{at("a.yaml"), at("a_test.yaml")},
		{at("b.yml"), at("b_test.yml")},
		{at("c.yaml"), ""},
		{at("sub/d.yaml"), at("sub/d_test.yaml")},
	}
	// A directory and a file in it, and a scenario file naming its playbook.
	got, err := Discover([]string{dir, at("a.yaml"), at("sub/d_test.yaml")}, false)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Discover = %v, %v\nwant %v", got, err, want)
	}

	if err := os.WriteFile(at("orphan_test.yaml"), []byte("x: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Discover([]string{dir}, false); err == nil {
		t.Error("a scenario file without its playbook is not reported")
	}

	builtin, err := Discover(nil, true)
	if err != nil || len(builtin) == 0 {
		t.Fatalf("Discover(builtin) = %v, %v", builtin, err)
	}
	for _, p := range builtin {
		if _, err := readFile(p.Playbook); err != nil {
			t.Errorf("%s: %v", p.Playbook, err)
		}
	}
}
