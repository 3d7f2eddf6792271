package alerts

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"regexp"
	"slices"
)

// atlasID matches a MITRE ATLAS technique or sub-technique id, such as
// AML.T0024 or AML.T0051.001. It is compiled once and never modified.
var atlasID = regexp.MustCompile(`AML\.T\d{4}(?:\.\d{3})?`)

// Bounds on a normalized alert. They keep playbook conditions provably
// cheap to evaluate; the raw payload, kept as evidence, holds everything.
const (
	MaxTechniques = 64
	MaxLabels     = 256
)

// normalize fills in what every decoder promises once the payload's own
// fields are read: an id derived from seed when the payload has none, the
// rule as title when there is no title, category and asset from
// conventional labels (see applyConventions), ATLAS technique ids mentioned in
// the labels or title, and non-nil Techniques and Labels so that playbook
// conditions can test membership without a null check. seed is the body for
// a single-alert payload; a batch decoder passes each alert's own bytes.
func normalize(a *Alert, seed []byte) {
	if a.ID == "" {
		a.ID = derivedID(seed)
	}
	if a.Title == "" {
		a.Title = a.Rule
	}
	if a.Status == "" {
		a.Status = string(StatusFiring)
	}
	if a.Labels == nil {
		a.Labels = map[string]string{}
	}
	applyConventions(a)
	techniques := slices.Clone(a.Techniques)
	for _, v := range a.Labels {
		techniques = append(techniques, atlasID.FindAllString(v, -1)...)
	}
	techniques = append(techniques, atlasID.FindAllString(a.Title, -1)...)
	slices.Sort(techniques)
	a.Techniques = slices.Compact(techniques)
	if a.Techniques == nil {
		a.Techniques = []string{}
	}
	if len(a.Techniques) > MaxTechniques {
		a.Techniques = a.Techniques[:MaxTechniques]
	}
	categoryFromTechniques(a)
	if len(a.Labels) > MaxLabels {
		keys := slices.Sorted(maps.Keys(a.Labels))
		for _, k := range keys[MaxLabels:] {
			delete(a.Labels, k)
		}
	}
}

// derivedID is the id of an alert whose payload has none: the first 16 bytes
// of the SHA-256 of its bytes, in hex, so a redelivered body gets the same id.
func derivedID(seed []byte) string {
	sum := sha256.Sum256(seed)
	return hex.EncodeToString(sum[:16])
}
