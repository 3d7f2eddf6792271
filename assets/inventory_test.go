package assets

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aisoar/aisoar/alerts"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// testOptions are the config a test inventory is checked against.
var testOptions = Options{
	Roles: []string{"soc", "mlops", "data-science", "risk"},
	Targets: map[string]string{
		"mlflow": "mlflow", "kserve": "kserve", "evals": "evaluator", "litellm": "litellm",
		"airflow": "airflow", "connect": "kafka_connect", "vault": "vault", "s3-models": "s3",
	},
	Technique: func(id string) bool { return strings.HasPrefix(id, "AML.T00") },
}

func TestLoadValid(t *testing.T) {
	inv, err := Load("testdata/inventory.yaml", testOptions)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	m := inv.Models["fraud-scorer"]
	if m.Name != "fraud-scorer" || m.Registry.ServingAlias != DefaultServingAlias || m.Registry.GoodAlias != DefaultGoodAlias || m.Serving.Name != "fraud-scorer" {
		t.Errorf("fraud-scorer = %+v, want its name and the registry and serving defaults filled", m)
	}
	if inv.Models["support-bot"].Registry.Name != "support-bot" {
		t.Errorf("support-bot registry name = %q, want the model's name", inv.Models["support-bot"].Registry.Name)
	}
}

// TestInvalid checks the diagnostics of each broken inventory against its golden.
func TestInvalid(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			_, err := Load(file, testOptions)
			if err == nil {
				t.Fatal("Load succeeded, want diagnostics")
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	inv, err := Load("testdata/inventory.yaml", testOptions)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                          string
		asset                         alerts.Asset
		model, pipeline, gateway, key string
		owner                         string
		roles                         []string
	}{
		{name: "model by name", asset: alerts.Asset{Model: "fraud-scorer"}, model: "fraud-scorer", gateway: "litellm-prod", owner: "fraud-ml", roles: []string{"mlops", "data-science"}},
		{name: "model by alias", asset: alerts.Asset{Model: "openai/fraud-scorer"}, model: "fraud-scorer", gateway: "litellm-prod", owner: "fraud-ml", roles: []string{"mlops", "data-science"}},
		{name: "model by endpoint", asset: alerts.Asset{Endpoint: "https://fraud.models.example.com/v1/models/fraud-scorer"}, model: "fraud-scorer", gateway: "litellm-prod", owner: "fraud-ml", roles: []string{"mlops", "data-science"}},
		{name: "key owner wins", asset: alerts.Asset{Model: "fraud-scorer", KeyID: "key-7f3a"}, model: "fraud-scorer", gateway: "litellm-prod", key: "key-7f3a", owner: "security", roles: []string{"soc"}},
		{name: "pipeline by dag", asset: alerts.Asset{Pipeline: "fraud_features_daily"}, pipeline: "fraud-features", owner: "data-eng", roles: []string{"data-science"}},
		{name: "pipeline by connector", asset: alerts.Asset{Pipeline: "clickstream-sink"}, pipeline: "clickstream", owner: "data-eng", roles: []string{"data-science"}},
		{name: "model without owner", asset: alerts.Asset{Model: "support-bot"}, model: "support-bot", gateway: "litellm-prod", owner: "platform", roles: []string{"mlops"}},
		{name: "unknown", asset: alerts.Asset{Model: "nope", KeyID: "k"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := inv.Match(&tt.asset)
			if m.Model.Name != tt.model || m.Pipeline.Name != tt.pipeline || m.Gateway.Name != tt.gateway || m.Key.Name != tt.key ||
				m.Owner != tt.owner || !slices.Equal(m.Roles, tt.roles) {
				t.Errorf("Match = model %q pipeline %q gateway %q key %q owner %q roles %v, want %q %q %q %q %q %v",
					m.Model.Name, m.Pipeline.Name, m.Gateway.Name, m.Key.Name, m.Owner, m.Roles,
					tt.model, tt.pipeline, tt.gateway, tt.key, tt.owner, tt.roles)
			}
			if m.Found() != (tt.owner != "") {
				t.Errorf("Found() = %v", m.Found())
			}
		})
	}
}
