package alerts

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
