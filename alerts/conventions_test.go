package alerts

import "testing"

func TestApplyConventions(t *testing.T) {
	tests := []struct {
		name   string
		alert  Alert
		want   Asset
		wantCa string
	}{
		{"labels fill what is missing",
			Alert{Labels: map[string]string{"attack_class": "model_extraction", "model_name": "fraud", "api_key_id": "k1", "tenant": "acme"}},
			Asset{Model: "fraud", KeyID: "k1", Tenant: "acme"}, "model_extraction"},
		{"payload fields win over labels",
			Alert{Category: "data_poisoning", Asset: Asset{Model: "own"}, Labels: map[string]string{"category": "x", "model": "label"}},
			Asset{Model: "own"}, "data_poisoning"},
		{"first label name wins",
			Alert{Labels: map[string]string{"pipeline": "ingest", "dag_id": "other"}},
			Asset{Pipeline: "ingest"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.alert
			applyConventions(&a)
			if a.Asset != tt.want || a.Category != tt.wantCa {
				t.Errorf("got asset %+v category %q, want %+v %q", a.Asset, a.Category, tt.want, tt.wantCa)
			}
		})
	}
}

func TestCategoryFromTechniques(t *testing.T) {
	tests := []struct {
		techniques []string
		category   string
		want       string
	}{
		{[]string{"AML.T0024.002"}, "", CategoryModelExtraction},
		{[]string{"AML.T0051", "AML.T0020"}, "", CategoryDataPoisoning},
		{[]string{"AML.T0043"}, "", CategoryAdversarialEvasion},
		{[]string{"AML.T0010.003"}, "", CategorySupplyChain},
		{[]string{"AML.T0024"}, "performance", "performance"},
		{[]string{"AML.T0051"}, "", ""},
	}
	for _, tt := range tests {
		a := Alert{Techniques: tt.techniques, Category: tt.category}
		categoryFromTechniques(&a)
		if a.Category != tt.want {
			t.Errorf("%v with category %q: got %q, want %q", tt.techniques, tt.category, a.Category, tt.want)
		}
	}
}
