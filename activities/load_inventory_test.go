package activities

import (
	"encoding/json"
	"errors"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/aisoar/aisoar/assets"
)

func TestAttestationTargets(t *testing.T) {
	inv, err := assets.Parse("assets.yaml", []byte(`
models:
  in-store:
    artifact: {store: models, path: fraud/4/model.safetensors, digest: "sha256:`+modelDigest("x")+`", signature: fraud/4/model.sig.json, attestation_key: release}
  by-url:
    artifact: {uri: "https://models.example.com/bot/model.bin", signature: "https://models.example.com/bot/model.sig", attestation_key: release}
  digest-only:
    artifact: {uri: "https://models.example.com/churn.bin", digest: "sha256:`+modelDigest("y")+`"}
  registry-only:
    artifact: {uri: "models:/fraud/4", digest: "sha256:`+modelDigest("z")+`"}
  signature-path-without-store:
    artifact: {uri: "https://models.example.com/x.bin", signature: x.sig}
  undocumented:
    owner: ""
stores:
  models: {target: s3-models, prefix: prod/}
`), assets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(AttestationTargets(inv))
	want := `[` +
		`{"model":"by-url","params":{"artifact":{"url":"https://models.example.com/bot/model.bin"},"digest":"","signature":{"url":"https://models.example.com/bot/model.sig"},"key":"release"}},` +
		`{"model":"digest-only","params":{"artifact":{"url":"https://models.example.com/churn.bin"},"digest":"sha256:` + modelDigest("y") + `","signature":null,"key":""}},` +
		`{"model":"in-store","params":{"artifact":{"key":"prod/fraud/4/model.safetensors","s3":"s3-models"},"digest":"sha256:` + modelDigest("x") + `","signature":{"key":"prod/fraud/4/model.sig.json","s3":"s3-models"},"key":"release"}},` +
		`{"model":"registry-only","params":{"artifact":null,"digest":"","signature":null,"key":""},"problem":"artifact.uri \"models:/fraud/4\" cannot be fetched (only http and https are); give artifact.store and artifact.path"},` +
		`{"model":"signature-path-without-store","params":{"artifact":null,"digest":"","signature":null,"key":""},"problem":"artifact.signature \"x.sig\" is a path, but the artifact names no store"}` +
		`]`
	if string(got) != want {
		t.Errorf("targets:\n got %s\nwant %s", got, want)
	}
}

func TestLoadInventoryFailure(t *testing.T) {
	l := &inventoryLoader{load: func() (*assets.Inventory, error) { return nil, errors.New("assets.yaml:3:1: bad") }}
	_, err := l.Run(t.Context())
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || !app.NonRetryable() {
		t.Errorf("a broken inventory: %v, want a non-retryable error", err)
	}
	res, err := (&inventoryLoader{}).Run(t.Context())
	if err != nil || len(res.Models) != 0 {
		t.Errorf("no inventory: %+v, %v", res, err)
	}
}
