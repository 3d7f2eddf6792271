package alerts

import "strings"

// Label names that SIEM rules commonly use to describe an AI asset and the
// kind of attack, read by every decoder when the payload has no field of its
// own for them. The first name present wins.
var (
	categoryLabels = []string{"category", "aisoar_category", "attack_class", "ai_incident_class"}
	modelLabels    = []string{"model", "model_name", "ml_model"}
	endpointLabels = []string{"endpoint", "serving_endpoint", "inference_endpoint"}
	pipelineLabels = []string{"pipeline", "data_pipeline", "dag", "dag_id"}
	tenantLabels   = []string{"tenant", "tenant_id", "customer"}
	keyIDLabels    = []string{"key_id", "api_key_id", "apikey_id"}
)

// applyConventions fills the category and asset fields an alert lacks from
// its labels.
func applyConventions(a *Alert) {
	fill := func(field *string, names []string) {
		if *field != "" {
			return
		}
		for _, name := range names {
			if v := a.Labels[name]; v != "" {
				*field = v
				return
			}
		}
	}
	fill(&a.Category, categoryLabels)
	fill(&a.Asset.Model, modelLabels)
	fill(&a.Asset.Endpoint, endpointLabels)
	fill(&a.Asset.Pipeline, pipelineLabels)
	fill(&a.Asset.Tenant, tenantLabels)
	fill(&a.Asset.KeyID, keyIDLabels)
}

// Incident classes, as the built-in playbooks name them in alert.category.
const (
	CategoryModelExtraction    = "model_extraction"
	CategoryDataPoisoning      = "data_poisoning"
	CategoryAdversarialEvasion = "adversarial_evasion"
	CategorySupplyChain        = "supply_chain"
)

// techniqueCategories maps MITRE ATLAS techniques to the incident class
// they indicate, for alerts that name techniques but no category.
var techniqueCategories = []struct {
	technique, category string
}{
	{"AML.T0024", CategoryModelExtraction},    // Exfiltration via AI Inference API
	{"AML.T0020", CategoryDataPoisoning},      // Poison Training Data
	{"AML.T0018", CategoryDataPoisoning},      // Manipulate AI Model (backdoor)
	{"AML.T0015", CategoryAdversarialEvasion}, // Evade AI Model
	{"AML.T0043", CategoryAdversarialEvasion}, // Craft Adversarial Data
	{"AML.T0010", CategorySupplyChain},        // AI Supply Chain Compromise
	{"AML.T0058", CategorySupplyChain},        // Publish Poisoned Models
}

// categoryFromTechniques sets the category of an alert that has none from
// the first of its techniques (or sub-techniques) that indicates one.
func categoryFromTechniques(a *Alert) {
	if a.Category != "" {
		return
	}
	for _, tc := range techniqueCategories {
		for _, t := range a.Techniques {
			if t == tc.technique || strings.HasPrefix(t, tc.technique+".") {
				a.Category = tc.category
				return
			}
		}
	}
}
