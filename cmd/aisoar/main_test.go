package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aisoar/aisoar/activities"
)

var update = flag.Bool("update", false, "rewrite the generated parts of README.md")

// run executes the CLI with args and returns its output and error.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// TestValidate runs the linters people put in CI: playbooks and the asset inventory.
func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		want    []string
	}{
		{"built-in library is clean", []string{"playbook", "validate", "../../playbooks/library"}, "", []string{"6 playbook(s) OK"}},
		{"problems are listed with positions", []string{"playbook", "validate", "../../playbooks/testdata/lint/actions.yaml"}, "8 problem(s)",
			[]string{`actions.yaml:6:13: unknown action "htp" (did you mean "http"?)`}},
		{"missing path", []string{"playbook", "validate", "nope.yaml"}, "no such file", nil},
		{"roles from config", []string{"playbook", "validate", "--config", "testdata/roles.yaml", "../../playbooks/library"}, "12 problem(s)",
			[]string{`unknown approver role "soc"`}},
		{"asset inventory is clean", []string{"assets", "validate", "../../assets/testdata/inventory.yaml"}, "",
			[]string{"inventory.yaml OK: 2 model(s), 2 pipeline(s), 1 gateway(s), 1 key(s), 2 store(s), 4 team(s)"}},
		{"asset inventory problems are listed with positions", []string{"assets", "validate", "../../assets/testdata/invalid/structure.yaml"}, "6 problem(s)",
			[]string{`structure.yaml:6:5: unknown key "ownr" in models.fraud-scorer (did you mean "owner"?)`}},
		{"asset inventory against the config", []string{"assets", "validate", "--config", "testdata/roles.yaml", "../../assets/testdata/inventory.yaml"}, "problem(s)",
			[]string{`no target "mlflow" in the config's targets`}},
		{"asset inventory named nowhere", []string{"assets", "validate"}, "name the inventory file", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, tt.args...)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want %q\n%s", err, tt.wantErr, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestFlagsReadTheirEnvironmentTwin(t *testing.T) {
	t.Setenv("AISOAR_CONFIG", "testdata/roles.yaml")
	out, err := run(t, "playbook", "validate", "../../playbooks/library")
	if err == nil || !strings.Contains(out, `unknown approver role "soc"`) {
		t.Fatalf("AISOAR_CONFIG was not applied: %v\n%s", err, out)
	}
	t.Setenv("AISOAR_CONFIG", "")
	t.Setenv("AISOAR_TEMPORAL_PORT", "not-a-number")
	if _, err := run(t, "dev"); err == nil || !strings.Contains(err.Error(), "AISOAR_TEMPORAL_PORT") {
		t.Fatalf("a bad environment value must be reported with its name, got %v", err)
	}
}

func TestHelpNamesEnvironmentTwins(t *testing.T) {
	out, err := run(t, "server", "--help")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "[AISOAR_TEMPORAL_ADDRESS]") {
		t.Errorf("help does not name the environment variable:\n%s", out)
	}
}

func TestExampleAlertsGetFreshIDs(t *testing.T) {
	first, err := alertBody("model-extraction", "")
	if err != nil {
		t.Fatal(err)
	}
	second, _ := alertBody("model-extraction", "")
	if bytes.Equal(first, second) {
		t.Error("two sends of an example carry the same alert id")
	}
	if _, err := alertBody("nope", ""); err == nil || !strings.Contains(err.Error(), "model-extraction") {
		t.Errorf("unknown example: %v, want the list of examples", err)
	}
}

// TestREADMEActionReference keeps the README's action reference equal to
// the registry; -update rewrites it.
func TestREADMEActionReference(t *testing.T) {
	const begin, end = "<!-- actions:begin -->\n", "<!-- actions:end -->"
	path := filepath.Join("..", "..", "README.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q … %q markers", begin, end)
	}
	want := actionsMarkdown(activities.NewRegistry(activities.Options{}).Specs())
	if got := readme[i+len(begin) : j]; got != want {
		if !*update {
			t.Fatalf("README.md's action reference is stale; run go test ./cmd/aisoar -update")
		}
		readme = readme[:i+len(begin)] + want + readme[j:]
		if err := os.WriteFile(path, []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPlaybookTest runs playbook scenarios from the command line.
func TestPlaybookTest(t *testing.T) {
	failing := t.TempDir()
	for src, dst := range map[string]string{
		"../../playbooktest/testdata/containment.yaml":        "containment.yaml",
		"../../playbooktest/testdata/fail/expectations.yaml":  "containment_test.yaml",
		"../../playbooktest/testdata/invalid/scenarios.yaml":  "broken_test.yaml",
		"../../playbooktest/testdata/containment.yaml#broken": "broken.yaml",
	} {
		src, suffix, _ := strings.Cut(src, "#")
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if suffix != "" {
			data = bytes.Replace(data, []byte("id: fixture-containment"), []byte("id: fixture-"+suffix), 1)
		}
		if err := os.WriteFile(filepath.Join(failing, dst), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
		want    []string
	}{
		{"fixture scenarios pass", []string{"playbook", "test", "../../playbooktest/testdata/containment.yaml"}, "",
			[]string{"PASS  fixture-containment / main path\n", "12 passed, 0 failed\n"}},
		{"--run filters, -v shows the steps", []string{"playbook", "test", "--run", "fixture-containment/main", "-v", "../../playbooktest/testdata/containment.yaml"}, "",
			[]string{"PASS  fixture-containment / main path\n      incident       contained\n", "1 passed, 0 failed\n"}},
		{"failures are listed with their reasons", []string{"playbook", "test", failing}, "scenarios failed",
			[]string{
				"FAIL  fixture-containment / every expectation wrong\n      state: want failed, got contained\n",
				"FAIL  fixture-broken: " + filepath.Join(failing, "broken_test.yaml") + "\n",
				`unknown key "alrt" in scenarios[0] (did you mean "alert"?)`,
				"0 passed, 5 failed, 1 scenario file(s) do not load\n",
			}},
		{"built-in library by default", []string{"playbook", "test", "--run", "model-extraction-containment/main"}, "",
			[]string{"PASS  model-extraction-containment / main path", "1 passed, 0 failed\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, tt.args...)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want %q\n%s", err, tt.wantErr, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
