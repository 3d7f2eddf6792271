package activities

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/aisoar/aisoar/attest"
	"github.com/aisoar/aisoar/internal/vaulttest"
)

const modelBytes = "safetensors weights v3"

func modelDigest(content string) string {
	sum := sha256.Sum256([]byte(content))
	return hex.EncodeToString(sum[:])
}

// modelSigningEnvelope signs an OpenSSF model signing v1.0 statement over
// one file with the given content.
func modelSigningEnvelope(t *testing.T, signer attest.Signer, content string) []byte {
	t.Helper()
	d := modelDigest(content)
	raw, _ := hex.DecodeString(d)
	root := sha256.Sum256(raw)
	predicate, _ := json.Marshal(map[string]any{
		"serialization": map[string]any{"method": "files", "hash_type": "sha256", "allow_symlinks": false},
		"resources":     []map[string]string{{"name": "model.safetensors", "algorithm": "sha256", "digest": d}},
	})
	st, _ := json.Marshal(attest.Statement{
		Type:          attest.StatementV1,
		Subject:       []attest.Subject{{Name: "fraud", Digest: map[string]string{"sha256": hex.EncodeToString(root[:])}}},
		PredicateType: attest.ModelSigningV1,
		Predicate:     predicate,
	})
	env, err := attest.Sign(context.Background(), signer, attest.InTotoPayloadType, st)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(env)
	return data
}

// sigstoreBundle wraps an envelope as model_signing writes it.
func sigstoreBundle(envelope []byte) []byte {
	return []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"k"}},"dsseEnvelope":` + string(envelope) + `}`)
}

// testKey is a private key written for a KeyFile, and its public half.
func testKey(t *testing.T, key crypto.Signer) (*attest.KeyFile, *attest.PublicKey) {
	t.Helper()
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	path := filepath.Join(t.TempDir(), "key.pem")
	os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	pub, err := attest.NewPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return &attest.KeyFile{Path: path}, pub
}

// registry serves a model and its signature files.
func registry(t *testing.T, files map[string]string) *target {
	return newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		body, ok := files[r.URL.Path]
		if !ok {
			answer(http.StatusNotFound, "application/json", `{"error":"not found"}`)(w, r)
			return
		}
		answer(http.StatusOK, "application/octet-stream", body)(w, r)
	})
}

func verifyEnv(srv *target, keys map[string]attest.Verifier) *testsuite.TestActivityEnvironment {
	a := &verifyArtifactAction{
		http:    newHTTPAction(HTTPOptions{AllowHosts: []string{srv.hostPort()}}),
		targets: Targets{"models": srv.httpTarget("models", "/registry", "models-token")},
		keys:    keys,
	}
	return actionEnv("verify_artifact", a.Run)
}

func runVerify(t *testing.T, env *testsuite.TestActivityEnvironment, p VerifyArtifactParams) (VerifyArtifactResult, error) {
	t.Helper()
	return runAction[VerifyArtifactResult](t, env, "verify_artifact", p)
}

func TestVerifyArtifactVerdicts(t *testing.T) {
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, strangerPriv, _ := ed25519.GenerateKey(rand.Reader)
	edSigner, edPub := testKey(t, edPriv)
	ecSigner, ecPub := testKey(t, p256)
	stranger, _ := testKey(t, strangerPriv)
	good := modelSigningEnvelope(t, edSigner, modelBytes)
	srv := registry(t, map[string]string{
		"/registry/fraud/v3/model.safetensors":          modelBytes,
		"/registry/fraud/v3/model.sig":                  string(good),
		"/registry/fraud/v3/model.bundle":               string(sigstoreBundle(modelSigningEnvelope(t, ecSigner, modelBytes))),
		"/registry/fraud/v3/stranger.sig":               string(modelSigningEnvelope(t, stranger, modelBytes)),
		"/registry/fraud/v3/other-model.sig":            string(modelSigningEnvelope(t, edSigner, "other weights")),
		"/registry/fraud/v3/garbage.sig":                "<html>login</html>",
		"/registry/fraud/v4-poisoned/model.safetensors": "poisoned weights",
	})
	keys := map[string]attest.Verifier{"release": edPub, "mlops": ecPub}
	digest := "sha256:" + modelDigest(modelBytes)
	artifact := map[string]any{"target": "models", "path": "fraud/v3/model.safetensors"}
	sig := func(file string) map[string]any {
		return map[string]any{"target": "models", "path": "fraud/v3/" + file}
	}
	tests := []struct {
		name    string
		p       VerifyArtifactParams
		verdict string
		reason  string
	}{
		{"ed25519 envelope, digest matches", VerifyArtifactParams{Artifact: artifact, Digest: digest, Signature: sig("model.sig"), Key: "release"}, VerdictVerified, ""},
		{"ecdsa p-256 sigstore bundle, no digest", VerifyArtifactParams{Artifact: artifact, Signature: sig("model.bundle"), Key: "mlops"}, VerdictVerified, ""},
		{"artifact by url, signature inline", VerifyArtifactParams{Artifact: map[string]any{"url": srv.URL + "/registry/fraud/v3/model.safetensors"},
			Signature: map[string]any{"name": "sig", "value": json.RawMessage(good)}, Key: "release"}, VerdictVerified, ""},
		{"digest differs", VerifyArtifactParams{Artifact: map[string]any{"target": "models", "path": "fraud/v4-poisoned/model.safetensors"}, Digest: digest,
			Signature: sig("model.sig"), Key: "release"}, VerdictMismatch, "the artifact's digest is sha256:" + modelDigest("poisoned weights")},
		{"poisoned artifact, signature only", VerifyArtifactParams{Artifact: map[string]any{"target": "models", "path": "fraud/v4-poisoned/model.safetensors"},
			Signature: sig("model.sig"), Key: "release"}, VerdictMismatch, "no file of model \"fraud\" has sha256"},
		{"signed by another key", VerifyArtifactParams{Artifact: artifact, Digest: digest, Signature: sig("stranger.sig"), Key: "release"}, VerdictMismatch, "signature does not verify"},
		{"key of another algorithm", VerifyArtifactParams{Artifact: artifact, Signature: sig("model.sig"), Key: "mlops"}, VerdictMismatch, "signature does not verify"},
		{"signature over another model", VerifyArtifactParams{Artifact: artifact, Signature: sig("other-model.sig"), Key: "release"}, VerdictMismatch, "no file of model"},
		{"signature file unusable", VerifyArtifactParams{Artifact: artifact, Signature: sig("garbage.sig"), Key: "release"}, VerdictMismatch, "the signature is unusable"},
		{"signature missing", VerifyArtifactParams{Artifact: artifact, Digest: digest, Signature: sig("absent.sig"), Key: "release"}, VerdictUnsigned, "answered 404"},
		{"no signature given", VerifyArtifactParams{Artifact: artifact, Digest: digest}, VerdictUnsigned, "no signature was given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := runVerify(t, verifyEnv(srv, keys), tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != tt.verdict || !strings.Contains(res.Reason, tt.reason) || (tt.reason == "") != (res.Reason == "") {
				t.Fatalf("verdict %q (%s), want %q (%s)", res.Verdict, res.Reason, tt.verdict, tt.reason)
			}
			if res.Digest == "" || res.ExpectedDigest != tt.p.Digest {
				t.Errorf("digests = %q, %q", res.Digest, res.ExpectedDigest)
			}
			if tt.verdict == VerdictVerified && (res.KeyID != keys[tt.p.Key].KeyID() || res.Subject != "fraud/model.safetensors") {
				t.Errorf("verified by %q as %q", res.KeyID, res.Subject)
			}
		})
	}
	// The artifact is read with the target's credentials.
	for _, r := range srv.requests() {
		if strings.HasPrefix(r.Path, "/registry/fraud/v3/") && r.Header.Get("Authorization") == "" && !strings.Contains(r.Path, "model.safetensors") {
			t.Errorf("%s %s was sent without credentials", r.Method, r.Path)
		}
	}
}

func TestVerifyArtifactRerun(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, pub := testKey(t, priv)
	srv := registry(t, map[string]string{"/registry/m": modelBytes, "/registry/m.sig": string(modelSigningEnvelope(t, signer, modelBytes))})
	p := VerifyArtifactParams{Artifact: map[string]any{"target": "models", "path": "m"}, Signature: map[string]any{"target": "models", "path": "m.sig"}, Key: "k"}
	keys := map[string]attest.Verifier{"k": pub}
	first, err := runVerify(t, verifyEnv(srv, keys), p)
	if err != nil {
		t.Fatal(err)
	}
	again, err := runVerify(t, verifyEnv(srv, keys), p)
	if err != nil || !reflect.DeepEqual(first, again) || first.Verdict != VerdictVerified {
		t.Errorf("re-run = %+v, %v; first %+v", again, err, first)
	}
	for _, r := range srv.requests() {
		if r.Method != http.MethodGet {
			t.Errorf("verify_artifact sent %s %s; it only reads", r.Method, r.Path)
		}
	}
}

func TestVerifyArtifactDryRun(t *testing.T) {
	srv := registry(t, nil)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, pub := testKey(t, priv)
	res, err := runVerify(t, verifyEnv(srv, map[string]attest.Verifier{"k": pub}), VerifyArtifactParams{
		Artifact: map[string]any{"url": srv.URL + "/m"}, Signature: map[string]any{"target": "models", "path": "m.sig"}, Key: "k", DryRun: DryRun{DryRun: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []PlannedRequest{{Method: "GET", URL: srv.URL + "/m"}, {Method: "GET", URL: srv.URL + "/registry/m.sig"}}
	if !res.DryRun || res.Verdict != "" || !reflect.DeepEqual(res.Planned, want) {
		t.Errorf("dry run = %+v, want plan %+v", res, want)
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("a dry run sent %d requests", n)
	}
}

func TestVerifyArtifactErrors(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, pub := testKey(t, priv)
	keys := map[string]attest.Verifier{"release": pub}
	artifact := map[string]any{"target": "models", "path": "m"}
	sig := map[string]any{"target": "models", "path": "m.sig"}
	tests := []struct {
		name      string
		reply     http.HandlerFunc
		p         VerifyArtifactParams
		retryable bool
		want      string
	}{
		{"artifact 4xx", answer(http.StatusUnauthorized, "application/json", `{"error":"bad token"}`),
			VerifyArtifactParams{Artifact: artifact, Digest: "sha256:" + modelDigest("x")}, false, `answered 401 Unauthorized: {"error":"bad token"}`},
		{"artifact 5xx", answer(http.StatusServiceUnavailable, "text/plain", "busy"),
			VerifyArtifactParams{Artifact: artifact, Digest: "sha256:" + modelDigest("x")}, true, "answered 503"},
		{"artifact timeout", func(w http.ResponseWriter, r *http.Request) { time.Sleep(time.Second) },
			VerifyArtifactParams{Artifact: artifact, Digest: "sha256:" + modelDigest("x")}, true, "Timeout"},
		{"signature 5xx", func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, ".sig") {
				w.WriteHeader(http.StatusBadGateway)
			}
		}, VerifyArtifactParams{Artifact: artifact, Signature: sig, Key: "release"}, true, "answered 502"},
		{"bad digest", nil, VerifyArtifactParams{Artifact: artifact, Digest: "md5:abc"}, false, `digest "md5:abc" is not sha256:<64 hex digits>`},
		{"signature without key", nil, VerifyArtifactParams{Artifact: artifact, Signature: sig}, false, "key is required with signature"},
		{"unknown key", nil, VerifyArtifactParams{Artifact: artifact, Signature: sig, Key: "nope"}, false, `no key "nope" in attestation.keys of the config (keys: release)`},
		{"nothing to check", nil, VerifyArtifactParams{Artifact: artifact}, false, "give digest, signature or both"},
		{"inline artifact", nil, VerifyArtifactParams{Artifact: map[string]any{"name": "a", "value": "x"}, Digest: "sha256:" + modelDigest("x")}, false, "value is not a source here"},
		{"url not allowed", nil, VerifyArtifactParams{Artifact: map[string]any{"url": "https://models.example.com/m"}, Digest: "sha256:" + modelDigest("x")}, false, "not in actions.http.allow_hosts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply := tt.reply
			if reply == nil {
				reply = answer(http.StatusOK, "", "x")
			}
			_, err := runVerify(t, verifyEnv(newTarget(t, reply), keys), tt.p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if retryable := !appError(t, err).NonRetryable(); retryable != tt.retryable {
				t.Errorf("retryable = %v, want %v", retryable, tt.retryable)
			}
		})
	}
}

func TestVerifyArtifactTransit(t *testing.T) {
	vault := vaulttest.New(t, "root-token")
	vault.CreateTransitKey("model-signing", "ecdsa-p256")
	transit := func(key string) *attest.Transit {
		return &attest.Transit{Address: vault.URL, Key: key, HTTPClient: vault.Client(),
			Token: staticSecret("root-token")}
	}
	srv := registry(t, map[string]string{
		"/registry/m":     modelBytes,
		"/registry/m.sig": string(modelSigningEnvelope(t, transit("model-signing"), modelBytes)),
	})
	keys := map[string]attest.Verifier{"mlops": transit("model-signing"), "gone": transit("deleted-key")}
	p := VerifyArtifactParams{Artifact: map[string]any{"target": "models", "path": "m"}, Signature: map[string]any{"target": "models", "path": "m.sig"}, Key: "mlops"}
	res, err := runVerify(t, verifyEnv(srv, keys), p)
	if err != nil || res.Verdict != VerdictVerified || res.KeyID != "vault-transit:transit/model-signing" {
		t.Fatalf("verify with Transit = %+v, %v", res, err)
	}
	last := vault.Requests()[len(vault.Requests())-1]
	if last.Path != "/v1/transit/verify/model-signing" || !strings.HasPrefix(last.Body["signature"].(string), "vault:v1:") {
		t.Errorf("last Vault request = %+v", last)
	}

	vault.FailNext("/v1/transit/verify/model-signing", http.StatusServiceUnavailable, 1)
	if _, err := runVerify(t, verifyEnv(srv, keys), p); err == nil || appError(t, err).NonRetryable() {
		t.Errorf("Vault unavailable: %v, want a retryable error", err)
	}
	p.Key = "gone"
	_, err = runVerify(t, verifyEnv(srv, keys), p)
	if err == nil || !strings.Contains(err.Error(), `key "gone"`) || !appError(t, err).NonRetryable() {
		t.Errorf("a Transit key Vault does not have: %v, want a non-retryable error", err)
	}
}
