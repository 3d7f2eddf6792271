package workflows

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
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
	}
}
