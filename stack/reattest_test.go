package stack_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/aisoar/aisoar/attest"
	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/devserver"
	"github.com/aisoar/aisoar/internal/s3test"
	"github.com/aisoar/aisoar/report"
	"github.com/aisoar/aisoar/stack"
	"github.com/aisoar/aisoar/workflows"
)

// TestReattestSchedule starts a worker, which creates the daily
// re-attestation Schedule; triggering it checks both inventory models
// against the artifact store (the S3 double) and records the verdicts in
// the ledger: the signed model is verified, the tampered one (its bytes
// changed after its digest and signature were made) a mismatch, which
// makes the day non-compliant.
func TestReattestSchedule(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	temporal, err := devserver.Start(devserver.Options{Ephemeral: true, UIPort: -1, SearchAttributes: workflows.SearchAttributes(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = temporal.Stop() })

	dir := t.TempDir()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer := writeSigningKey(t, dir, pub, priv)
	original := []byte("safetensors weights v4")
	store := s3test.New(t, []string{"models"})
	for _, m := range []string{"good", "tampered"} {
		store.PutObject("models", "prod/"+m+"/model.safetensors", original)
		store.PutObject("models", "prod/"+m+"/model.sig.json", signedStatement(t, signer, m, original))
	}
	store.PutObject("models", "prod/tampered/model.safetensors", []byte("safetensors weights v4, with a backdoor"))

	sum := sha256.Sum256(original)
	inventory := fmt.Sprintf(`
models:
  good:
    artifact: {store: artifacts, path: good/model.safetensors, digest: "sha256:%[1]x", signature: good/model.sig.json, attestation_key: release}
  tampered:
    artifact: {store: artifacts, path: tampered/model.safetensors, digest: "sha256:%[1]x", signature: tampered/model.sig.json, attestation_key: release}
stores:
  artifacts: {target: s3-models, prefix: prod/}
`, sum)
	writeTestFile(t, filepath.Join(dir, "assets.yaml"), inventory)
	writeTestFile(t, filepath.Join(dir, "s3.secret"), s3test.SecretAccessKey)
	builtin := false
	cfg := &config.Config{
		Temporal:       config.Temporal{Address: temporal.FrontendAddress(), Namespace: temporal.Namespace()},
		BuiltinLibrary: &builtin,
		Assets:         filepath.Join(dir, "assets.yaml"),
		Targets: map[string]config.Target{"s3-models": {Kind: config.TargetS3, URL: store.URL, Region: s3test.Region, Bucket: "models",
			Auth: config.TargetAuth{AWS: &config.AWSAuth{AccessKeyID: s3test.AccessKeyID, SecretAccessKey: config.Secret{File: filepath.Join(dir, "s3.secret")}}}}},
		Attestation: config.Attestation{Keys: map[string]config.AttestationKey{"release": {File: filepath.Join(dir, "release.pub")}}},
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := stack.Start(ctx, stack.Options{Config: cfg, Roles: stack.Roles{Worker: true}, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()

	handle := s.Client.ScheduleClient().GetHandle(ctx, workflows.ReattestScheduleID)
	desc, err := handle.Describe(ctx)
	if err != nil {
		t.Fatalf("the worker did not create the schedule: %v", err)
	}
	if at := dailyAt(desc.Schedule.Spec); at != "02:00 UTC" {
		t.Errorf("the schedule runs daily at %s, want the default 02:00 UTC", at)
	}
	if err := handle.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}

	var ledger workflows.Ledger
	waitUntil(t, "both verdicts in the ledger", func() bool {
		value, err := s.Client.QueryWorkflow(ctx, workflows.LedgerWorkflowID, "", workflows.LedgerQuery, workflows.LedgerRange{})
		return err == nil && value.Get(&ledger) == nil && len(ledger.Days) == 1 && len(ledger.Days[0].Verdicts) == 2
	}, func() { t.Logf("ledger: %+v", ledger) })
	day := ledger.Days[0]
	if v := day.Verdicts["good"]; v.Verdict != "verified" {
		t.Errorf("good: %+v, want verified", v)
	}
	if v := day.Verdicts["tampered"]; v.Verdict != "mismatch" {
		t.Errorf("tampered: %+v, want mismatch", v)
	}

	inv, err := stack.LoadAssets(cfg)
	if err != nil {
		t.Fatal(err)
	}
	since, _ := time.Parse(time.DateOnly, day.Day)
	r := report.Compute(report.Input{Since: since, Until: since.Add(24 * time.Hour), Now: since, Inventory: inv, Ledger: ledger})
	g := r.IntegritySLA
	if g.Overall.String() != "0/1 (0.0%)" || g.PerModel[0].Compliant.String() != "1/1 (100.0%)" || len(g.PerModel[1].Failures) != 1 {
		t.Errorf("integrity: overall %s, good %s, tampered failures %+v; want the day out of compliance for the tampered model only",
			g.Overall, g.PerModel[0].Compliant, g.PerModel[1].Failures)
	}

	// Starting again with another spec updates the schedule in place.
	cfg.Governance.Reattest = config.Reattest{Cron: "15 4 * * *", TimeZone: "Europe/Paris"}
	if err := stack.EnsureReattestSchedule(ctx, s.Client, cfg); err != nil {
		t.Fatal(err)
	}
	if desc, err = handle.Describe(ctx); err != nil {
		t.Fatal(err)
	}
	if at := dailyAt(desc.Schedule.Spec); at != "04:15 Europe/Paris" {
		t.Errorf("after the update the schedule runs daily at %s, want 04:15 Europe/Paris", at)
	}
}

// dailyAt is when a schedule of one daily calendar runs (Temporal compiles
// cron expressions into calendars).
func dailyAt(spec *client.ScheduleSpec) string {
	if len(spec.Calendars) != 1 || len(spec.Calendars[0].Hour) != 1 || len(spec.Calendars[0].Minute) != 1 {
		return fmt.Sprintf("%+v", spec)
	}
	c := spec.Calendars[0]
	return fmt.Sprintf("%02d:%02d %s", c.Hour[0].Start, c.Minute[0].Start, spec.TimeZoneName)
}

// writeSigningKey writes the key pair: the private half for signing, the
// public half as the config's attestation key release.pub.
func writeSigningKey(t *testing.T, dir string, pub ed25519.PublicKey, priv ed25519.PrivateKey) *attest.KeyFile {
	t.Helper()
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	writeTestFile(t, filepath.Join(dir, "release.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	pubDER, _ := x509.MarshalPKIXPublicKey(pub)
	writeTestFile(t, filepath.Join(dir, "release.pub"), string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})))
	return &attest.KeyFile{Path: filepath.Join(dir, "release.pem")}
}

// signedStatement is a DSSE envelope over an in-toto statement naming the
// artifact by its SHA-256.
func signedStatement(t *testing.T, signer attest.Signer, name string, artifact []byte) []byte {
	t.Helper()
	sum := sha256.Sum256(artifact)
	st, _ := json.Marshal(attest.Statement{Type: attest.StatementV1, PredicateType: "https://aisoar.dev/test/v1",
		Subject: []attest.Subject{{Name: name, Digest: map[string]string{"sha256": hex.EncodeToString(sum[:])}}}})
	env, err := attest.Sign(context.Background(), signer, attest.InTotoPayloadType, st)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(env)
	return data
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
