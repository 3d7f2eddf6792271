package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/aisoar/aisoar/assets"
)

// LoadInventory is the internal activity that reads the asset inventory
// file afresh and lists the models to re-attest, so the daily
// re-attestation follows assets.yaml as it changes.
const LoadInventory = "load_inventory"

// AttestationTarget is one inventory model to re-attest and the
// verify_artifact parameters that check it.
type AttestationTarget struct {
	Model  string               `json:"model"`
	Params VerifyArtifactParams `json:"params"`
	// Problem, when set, says why the model's artifact cannot be checked
	// as the inventory describes it; Params is then empty.
	Problem string `json:"problem,omitempty"`
}

// LoadInventoryResult lists the models with an artifact digest or
// signature, by name.
type LoadInventoryResult struct {
	Models []AttestationTarget `json:"models"`
}

type inventoryLoader struct {
	load func() (*assets.Inventory, error)
}

// Run loads the inventory; a file that does not load is for people to fix.
func (l *inventoryLoader) Run(context.Context) (LoadInventoryResult, error) {
	if l.load == nil {
		return LoadInventoryResult{Models: []AttestationTarget{}}, nil
	}
	inv, err := l.load()
	if err != nil {
		return LoadInventoryResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %v", LoadInventory, err), "InventoryError", err)
	}
	return LoadInventoryResult{Models: AttestationTargets(inv)}, nil
}

// AttestationTargets lists the inventory's models that carry an artifact
// digest or signature, by name, with the verify_artifact parameters that
// check them: the artifact at store/path is {s3: <store's target>, key:
// <store prefix><path>}, an http(s) uri is {url}; a signature is a URL
// when it has a scheme, else a key in the artifact's store; the key is
// artifact.attestation_key.
func AttestationTargets(inv *assets.Inventory) []AttestationTarget {
	out := []AttestationTarget{}
	if inv == nil {
		return out
	}
	names := make([]string, 0, len(inv.Models))
	for name := range inv.Models {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		a := inv.Models[name].Artifact
		if a.Digest == "" && a.Signature == "" {
			continue
		}
		t := AttestationTarget{Model: name}
		store, inStore := inv.Stores[a.Store]
		artifact, err := artifactLocation(a, store, inStore)
		if err == nil && a.Signature != "" {
			t.Params.Signature, err = signatureLocation(a.Signature, store, inStore)
			t.Params.Key = a.AttestationKey
		}
		if err != nil {
			t.Problem = err.Error()
			t.Params = VerifyArtifactParams{}
		} else {
			t.Params.Artifact, t.Params.Digest = artifact, a.Digest
		}
		out = append(out, t)
	}
	return out
}

func artifactLocation(a assets.Artifact, store assets.Store, inStore bool) (map[string]any, error) {
	switch {
	case a.Path != "" && inStore:
		return map[string]any{"s3": store.Target, "key": store.Prefix + a.Path}, nil
	case isHTTP(a.URI):
		return map[string]any{"url": a.URI}, nil
	case a.URI != "":
		return nil, fmt.Errorf("artifact.uri %q cannot be fetched (only http and https are); give artifact.store and artifact.path", a.URI)
	}
	return nil, fmt.Errorf("the artifact has a digest or signature but no location: give artifact.store and artifact.path, or an http(s) artifact.uri")
}

func signatureLocation(sig string, store assets.Store, inStore bool) (map[string]any, error) {
	switch {
	case isHTTP(sig):
		return map[string]any{"url": sig}, nil
	case strings.Contains(sig, "://"):
		return nil, fmt.Errorf("artifact.signature %q cannot be fetched (only http and https are, or a path in the artifact's store)", sig)
	case inStore:
		return map[string]any{"s3": store.Target, "key": store.Prefix + sig}, nil
	}
	return nil, fmt.Errorf("artifact.signature %q is a path, but the artifact names no store", sig)
}

func isHTTP(uri string) bool {
	return strings.HasPrefix(uri, "https://") || strings.HasPrefix(uri, "http://")
}
