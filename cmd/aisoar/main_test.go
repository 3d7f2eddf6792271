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
		{"testdata beside playbooks is skipped", []string{"playbook", "test", "--run", "model-extraction-containment/main", "../../playbooks/"}, "",
			[]string{"PASS  model-extraction-containment / main path", "1 passed, 0 failed\n"}},
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

// devTestConfig is a config of two sources and one API token, for the
// tests of `aisoar dev --config` and of sending to its sources.
const devTestConfig = `listen: 127.0.0.1:9999
api_tokens:
  - {user: alice, token: {env: ALICE_TOKEN}}
sources:
  grafana:
    verify: {type: bearer, secret: {env: GRAFANA_TOKEN}}
    decoder: {type: grafana}
  siem:
    verify: {type: standard-webhooks, secret: {env: SIEM_SECRET}}
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDevConfigFlagsOverrideTheFile: a flag given explicitly wins over the
// config file; one left at its default does not.
func TestDevConfigFlagsOverrideTheFile(t *testing.T) {
	file := writeFile(t, "aisoar.yaml", devTestConfig)
	tests := []struct {
		name string
		o    devOptions
		want string
	}{
		{"the file's listen", devOptions{configFile: file, listen: "127.0.0.1:8080"}, "127.0.0.1:9999"},
		{"--listen given", devOptions{configFile: file, listen: "127.0.0.1:18080", listenSet: true}, "127.0.0.1:18080"},
		{"dev defaults", devOptions{dataDir: t.TempDir(), listen: "127.0.0.1:18081"}, "127.0.0.1:18081"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, _, err := devConfig(tt.o)
			if err != nil || cfg.Listen != tt.want {
				t.Fatalf("listen %v, %v; want %s", cfg, err, tt.want)
			}
		})
	}
	if _, _, _, err := devConfig(devOptions{configFile: file, listen: "18080", listenSet: true}); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("a bad --listen: %v", err)
	}
}

// TestDevBanner: the banner names what this aisoar dev runs with, and its
// commands work as printed.
func TestDevBanner(t *testing.T) {
	file := writeFile(t, "aisoar.yaml", devTestConfig)
	cfg, _, _, err := devConfig(devOptions{configFile: file})
	if err != nil {
		t.Fatal(err)
	}
	dev := devState{URL: "http://127.0.0.1:8080", Source: devSource, SecretFile: "/d/dev-source.secret", TokenFile: "/d/dev-token.secret"}
	withConfig := devState{URL: "http://127.0.0.1:9999", Config: file}
	tests := []struct {
		name          string
		b             banner
		want, notWant []string
	}{
		{"dev defaults", banner{state: dev},
			[]string{"/v1/alerts/dev   (Standard Webhooks secret in /d/dev-source.secret)", `Bearer $(cat /d/dev-token.secret)`, "\n  go run ./cmd/aisoar alert send --example model-extraction\n"},
			[]string{"export"}},
		{"another data dir", banner{state: dev, dataDir: "/tmp/x"},
			[]string{"  export AISOAR_DATA_DIR=/tmp/x\n  go run ./cmd/aisoar alert send"}, nil},
		{"--config", banner{state: withConfig, cfg: cfg, dataDir: "/tmp/x"},
			[]string{
				"with the config " + file,
				"http://127.0.0.1:9999/v1/alerts/grafana   (verify bearer, decoder grafana)",
				"http://127.0.0.1:9999/v1/alerts/siem   (verify standard-webhooks, decoder generic)",
				"the config's api_tokens (users: alice)",
				"  export AISOAR_DATA_DIR=/tmp/x\n  export AISOAR_TOKEN=<token>\n",
				"alert send --config " + file + " --source grafana --format grafana\n",
				`Bearer $AISOAR_TOKEN`,
			},
			[]string{"/v1/alerts/dev", "dev-splunk", "$(cat )", "secret in )"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			tt.b.write(&out)
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("banner lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out.String(), w) {
					t.Errorf("banner holds %q:\n%s", w, out.String())
				}
			}
		})
	}
}

// TestRequestSignerNamesTheSources: without --source, the config's one
// source is used, or the sources it has are named.
func TestRequestSignerNamesTheSources(t *testing.T) {
	t.Setenv("GRAFANA_TOKEN", "g")
	t.Setenv("SIEM_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	two := writeFile(t, "two.yaml", devTestConfig)
	one := writeFile(t, "one.yaml", "sources:\n  siem:\n    verify: {type: standard-webhooks, secret: {env: SIEM_SECRET}}\n")
	tests := []struct {
		name, file, source string
		want, wantErr      string
	}{
		{"named", two, "grafana", "grafana", ""},
		{"the one source", one, "", "siem", ""},
		{"several sources", two, "", "", "name the source with --source (" + two + " defines: grafana, siem)"},
		{"unknown source", two, "nope", "", `has no source "nope" (it defines: grafana, siem)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got, err := requestSigner(t.TempDir(), tt.file, tt.source, "")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("source %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := run(t, "alert", "send", "--config", two, "--example", "model-extraction", "--addr", "http://127.0.0.1:1", "--data-dir", t.TempDir()); err == nil ||
		!strings.Contains(err.Error(), "name the source with --source") {
		t.Errorf("alert send without --source: %v", err)
	}
}

// TestActionsListsEnumValues: the plain reference, like the Markdown one,
// names the values a parameter takes.
func TestActionsListsEnumValues(t *testing.T) {
	for _, args := range [][]string{{"actions"}, {"actions", "--markdown"}} {
		out, err := run(t, args...)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"one of GET, POST, PUT, PATCH, DELETE", "one of canary, shadow", "one of kv_write, "} {
			if !strings.Contains(out, want) {
				t.Errorf("%v lacks %q", args, want)
			}
		}
	}
}
