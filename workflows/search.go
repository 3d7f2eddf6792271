package workflows

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/aisoar/aisoar/alerts"
)

// Search attributes every incident carries, so the Temporal UI and
// `aisoar incidents list` can filter incidents.
var (
	SearchPlaybook   = temporal.NewSearchAttributeKeyKeyword("AisoarPlaybook")
	SearchSource     = temporal.NewSearchAttributeKeyKeyword("AisoarSource")
	SearchSeverity   = temporal.NewSearchAttributeKeyInt64("AisoarSeverity")
	SearchTechniques = temporal.NewSearchAttributeKeyKeywordList("AisoarTechniques")
	SearchAsset      = temporal.NewSearchAttributeKeyKeyword("AisoarAsset")
	SearchStatus     = temporal.NewSearchAttributeKeyKeyword("AisoarStatus")
	SearchDryRun     = temporal.NewSearchAttributeKeyBool("AisoarDryRun")
)

// SearchAttributes returns the custom search attributes to register on the
// namespace, by name and type.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		SearchPlaybook.GetName():   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchSource.GetName():     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchSeverity.GetName():   enumspb.INDEXED_VALUE_TYPE_INT,
		SearchTechniques.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST,
		SearchAsset.GetName():      enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchStatus.GetName():     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchDryRun.GetName():     enumspb.INDEXED_VALUE_TYPE_BOOL,
	}
}

// StartSearchAttributes are the search attributes an incident starts with;
// the workflow updates the status as it goes.
func StartSearchAttributes(in *Input) temporal.SearchAttributes {
	a := &in.Alert
	updates := []temporal.SearchAttributeUpdate{
		SearchPlaybook.ValueSet(in.Playbook.ID),
		SearchSource.ValueSet(a.Source),
		SearchSeverity.ValueSet(a.Severity),
		SearchStatus.ValueSet(StateRunning),
	}
	if in.DryRun {
		updates = append(updates, SearchDryRun.ValueSet(true))
	}
	if len(a.Techniques) > 0 {
		updates = append(updates, SearchTechniques.ValueSet(a.Techniques))
	}
	if asset := assetName(&a.Asset); asset != "" {
		updates = append(updates, SearchAsset.ValueSet(asset))
	}
	return temporal.NewSearchAttributes(updates...)
}

// assetName is the most specific name the alert gives its asset.
func assetName(a *alerts.Asset) string {
	for _, name := range []string{a.Model, a.Endpoint, a.Pipeline, a.KeyID, a.Tenant} {
		if name != "" {
			return name
		}
	}
	return ""
}
