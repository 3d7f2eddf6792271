package stack

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aisoar/aisoar/attest"
	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/evidence"
	"github.com/aisoar/aisoar/internal/vaulttest"
)

// TestEvidenceOptions checks the wiring: a store with nothing configured
// works and makes its key on first use; with Transit configured, Transit
// signs and evidence signed earlier with the key file still verifies.
func TestEvidenceOptions(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := &config.Config{Evidence: config.Evidence{Dir: dir}}
	opts, err := EvidenceOptions(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "signing-key.pem")); !os.IsNotExist(err) {
		t.Errorf("the key was made before it was needed: %v", err)
	}
	local := seal(t, evidence.New(opts), "local")

	vault := vaulttest.New(t, "root-token")
	vault.CreateTransitKey("aisoar-evidence", "ed25519")
	cfg.Targets = map[string]config.Target{"vault": {Kind: config.TargetVault, URL: vault.URL,
		Auth: config.TargetAuth{Header: &config.HeaderAuth{Name: "X-Vault-Token", Value: config.Secret{Env: "TEST_VAULT_TOKEN"}}}}}
	t.Setenv("TEST_VAULT_TOKEN", "root-token")
	cfg.Evidence.Signing.Transit = &config.Transit{Target: "vault", Key: "aisoar-evidence"}
	targets, err := Targets(cfg.Targets)
	if err != nil {
		t.Fatal(err)
	}
	opts, err = EvidenceOptions(cfg, targets)
	if err != nil {
		t.Fatal(err)
	}
	store := evidence.New(opts)
	transit := seal(t, store, "transit")
	if !strings.HasPrefix(transit.KeyID, "vault-transit:transit/aisoar-evidence:v") || local.KeyID == transit.KeyID {
		t.Errorf("key ids %q and %q", local.KeyID, transit.KeyID)
	}
	report, err := store.Verify(ctx, "inc-1")
	if err != nil || report.Err() != nil || len(report.Manifests) != 2 {
		t.Fatalf("Verify: %v, %v, %+v", err, report.Err(), report)
	}
}

func seal(t *testing.T, s *evidence.Store, id string) *evidence.Sealed {
	t.Helper()
	ctx := context.Background()
	blob, err := s.Put(ctx, strings.NewReader(id))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal(ctx, evidence.Manifest{ID: id, Incident: "inc-1", Items: []evidence.Item{{Name: id, SHA256: blob.SHA256, Size: blob.Size}}})
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

func TestAttestationKeys(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(priv.Public())
	pubFile := filepath.Join(t.TempDir(), "release.pub")
	os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	cfg := &config.Config{
		Targets: map[string]config.Target{"vault": {Kind: config.TargetVault, URL: "http://127.0.0.1:8200",
			Auth: config.TargetAuth{Bearer: &config.Secret{Env: "TEST_VAULT_TOKEN"}}}},
		Attestation: config.Attestation{Keys: map[string]config.AttestationKey{
			"release": {File: pubFile},
			"mlops":   {Transit: &config.Transit{Target: "vault", Mount: "transit-models", Key: "model-signing"}},
		}},
	}
	targets, _ := Targets(cfg.Targets)
	keys, err := AttestationKeys(cfg, targets)
	if err != nil {
		t.Fatal(err)
	}
	if keys["release"].KeyID() != attest.KeyID(priv.Public()) || keys["mlops"].KeyID() != "vault-transit:transit-models/model-signing" {
		t.Errorf("keys = %v", keys)
	}
	cfg.Attestation.Keys["broken"] = config.AttestationKey{File: filepath.Join(t.TempDir(), "missing.pub")}
	if _, err := AttestationKeys(cfg, targets); err == nil || !strings.Contains(err.Error(), "attestation.keys.broken.file") {
		t.Errorf("a missing key file: %v", err)
	}
}
