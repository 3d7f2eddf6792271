package report

import (
	"github.com/aisoar/aisoar/assets"
	"github.com/aisoar/aisoar/workflows"
)

// The fields asset visibility asks of each model, as the report names them.
const (
	FieldOwner                 = "owner"
	FieldDataSources           = "lineage.data_sources"
	FieldTrainingRunOrPipeline = "lineage.training_run_or_pipeline"
	FieldOrigin                = "provenance.origin"
	FieldSignatureOrDigest     = "provenance.signature_or_digest"
)

// DefineAssetVisibility is the asset visibility figure's definition.
const DefineAssetVisibility = "Asset visibility: the share of AI systems (inventory models) whose owner, lineage and provenance " +
	"are documented in assets.yaml. owner: owner is set. lineage.data_sources: a pipeline of lineage.pipelines lists at least " +
	"one source. lineage.training_run_or_pipeline: lineage.training_run or lineage.pipelines is set. provenance.origin: " +
	"artifact.uri, or artifact.store and artifact.path, is set. provenance.signature_or_digest: artifact.signature or " +
	"artifact.digest is set. A system counts when none of the five is missing."

// AssetVisibility is the asset visibility figure and, per model, what is
// documented and what is missing.
type AssetVisibility struct {
	Definition string `json:"definition"`
	// Systems counts the models with nothing missing.
	Systems Fraction          `json:"systems"`
	Models  []ModelVisibility `json:"models"`
}

// ModelVisibility is what the inventory documents of one model.
type ModelVisibility struct {
	Model     string   `json:"model"`
	Owner     string   `json:"owner,omitempty"`
	Pipelines []string `json:"pipelines,omitempty"`
	// DataSources are the sources of its lineage pipelines, as
	// <pipeline>/<source>.
	DataSources []string `json:"data_sources,omitempty"`
	TrainingRun string   `json:"training_run,omitempty"`
	// Origin is the artifact's uri or store/path; Integrity lists what it
	// is checked against (digest, signature).
	Origin    string   `json:"origin,omitempty"`
	Integrity []string `json:"integrity,omitempty"`
	// Missing lists the fields not documented (the Field* names).
	Missing []string `json:"missing"`
}

func assetVisibility(inv *assets.Inventory, models []assets.Model) AssetVisibility {
	v := AssetVisibility{Definition: DefineAssetVisibility, Models: []ModelVisibility{}}
	documented := 0
	for _, m := range models {
		mv := ModelVisibility{Model: m.Name, Owner: m.Owner, Pipelines: m.Lineage.Pipelines, TrainingRun: m.Lineage.TrainingRun, Missing: []string{}}
		for _, p := range m.Lineage.Pipelines {
			for _, src := range inv.Pipelines[p].Sources {
				mv.DataSources = append(mv.DataSources, workflows.DeliveryKey(p, src.Name))
			}
		}
		a := m.Artifact
		switch {
		case a.URI != "":
			mv.Origin = a.URI
		case a.Store != "" && a.Path != "":
			mv.Origin = a.Store + "/" + a.Path
		}
		if a.Digest != "" {
			mv.Integrity = append(mv.Integrity, "digest")
		}
		if a.Signature != "" {
			mv.Integrity = append(mv.Integrity, "signature")
		}
		for _, check := range []struct {
			field string
			ok    bool
		}{
			{FieldOwner, m.Owner != ""},
			{FieldDataSources, len(mv.DataSources) > 0},
			{FieldTrainingRunOrPipeline, m.Lineage.TrainingRun != "" || len(m.Lineage.Pipelines) > 0},
			{FieldOrigin, mv.Origin != ""},
			{FieldSignatureOrDigest, len(mv.Integrity) > 0},
		} {
			if !check.ok {
				mv.Missing = append(mv.Missing, check.field)
			}
		}
		if len(mv.Missing) == 0 {
			documented++
		}
		v.Models = append(v.Models, mv)
	}
	v.Systems = fraction(documented, len(models))
	return v
}
