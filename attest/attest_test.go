package attest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPAE(t *testing.T) {
	// The example of the DSSE protocol specification.
	got := string(PAE("http://example.com/HelloWorld", []byte("hello world")))
	if want := "DSSEv1 29 http://example.com/HelloWorld 11 hello world"; got != want {
		t.Errorf("PAE = %q, want %q", got, want)
	}
}

// writeKey writes key as a PKCS #8 PEM file and returns its path.
func writeKey(t *testing.T, key crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// publicKeyPEM returns key's public half as a PEM "PUBLIC KEY".
func publicKeyPEM(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func TestSignAndVerify(t *testing.T) {
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	other, err := ParsePublicKey(publicKeyPEM(t, otherKey))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, key := range map[string]crypto.Signer{"ed25519": edKey, "ecdsa-p256": p256, "ecdsa-p384": p384, "rsa": rsaKey} {
		t.Run(name, func(t *testing.T) {
			signer := &KeyFile{Path: writeKey(t, key)}
			env, err := Sign(ctx, signer, InTotoPayloadType, []byte(`{"hello":"world"}`))
			if err != nil {
				t.Fatal(err)
			}
			pub, err := ParsePublicKey(publicKeyPEM(t, key))
			if err != nil {
				t.Fatal(err)
			}
			if env.Signatures[0].KeyID != pub.KeyID() {
				t.Errorf("key id %q, want the public key's %q", env.Signatures[0].KeyID, pub.KeyID())
			}
			// Round trip through JSON, as stored.
			data, _ := json.Marshal(env)
			parsed, err := ParseEnvelope(data)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range []Verifier{pub, signer} {
				if id, err := parsed.Verify(ctx, v); err != nil || id != pub.KeyID() {
					t.Errorf("Verify with %T = %q, %v; want %q", v, id, err, pub.KeyID())
				}
			}
			if _, err := parsed.Verify(ctx, other); !errors.Is(err, ErrBadSignature) {
				t.Errorf("Verify with another key: %v, want ErrBadSignature", err)
			}
			parsed.Payload = []byte(`{"hello":"World"}`)
			if _, err := parsed.Verify(ctx, pub); !errors.Is(err, ErrBadSignature) {
				t.Errorf("Verify of a changed payload: %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestKeyFileCreatedOnFirstUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "evidence.pem")
	k := &KeyFile{Path: path}
	if err := k.Verify(context.Background(), "", []byte("m"), []byte("s")); err == nil || !strings.Contains(err.Error(), "no signing key at") {
		t.Fatalf("Verify before the key exists: %v, want a missing-key error", err)
	}
	if _, _, err := k.Sign(context.Background(), []byte("m")); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", info.Mode().Perm())
	}
	// A second KeyFile reads the same key rather than making another.
	sig, id, err := (&KeyFile{Path: path}).Sign(context.Background(), []byte("m"))
	if err != nil || id != k.KeyID() {
		t.Fatalf("second KeyFile signs as %q, %v; want %q", id, err, k.KeyID())
	}
	if err := k.Verify(context.Background(), id, []byte("m"), sig); err != nil {
		t.Error(err)
	}
}

// TestKeyFileNotAKey checks that a signing key file that holds no key is
// named in the error, whether it is read as the configured key or found
// already written by another process while creating one.
func TestKeyFileNotAKey(t *testing.T) {
	tests := []struct {
		name string
		load func(path string) error
	}{
		{"configured key", func(path string) error {
			_, _, err := (&KeyFile{Path: path}).Sign(context.Background(), []byte("m"))
			return err
		}},
		{"written meanwhile by another process", func(path string) error {
			_, err := createKey(path)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "evidence.pem")
			if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
				t.Fatal(err)
			}
			err := tt.load(path)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `not a PEM "PRIVATE KEY"`) {
				t.Errorf("error %v, want one that names %s and says it is not a PEM private key", err, path)
			}
		})
	}
}

func TestParseEnvelope(t *testing.T) {
	payload := []byte(`{"_type":"https://in-toto.io/Statement/v1"}`)
	std := base64.StdEncoding.EncodeToString(payload)
	url := base64.RawURLEncoding.EncodeToString([]byte{0xfb, 0xff})
	tests := []struct {
		name, doc, wantErr string
	}{
		{"envelope", `{"payloadType":"application/vnd.in-toto+json","payload":"` + std + `","signatures":[{"keyid":"k","sig":"AAEC"}]}`, ""},
		{"sigstore bundle", `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"k"}},` +
			`"dsseEnvelope":{"payloadType":"application/vnd.in-toto+json","payload":"` + std + `","signatures":[{"sig":"AAEC"}]}}`, ""},
		{"url-safe base64", `{"payloadType":"application/vnd.in-toto+json","payload":"` + std + `","signatures":[{"sig":"` + url + `"}]}`, ""},
		{"message signature bundle", `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","messageSignature":{"signature":"AAEC"}}`, "message signature"},
		{"not an envelope", `{"hello":"world"}`, "not a DSSE envelope"},
		{"not JSON", `garbage`, "not a DSSE envelope or Sigstore bundle"},
		{"bad base64", `{"payloadType":"t","payload":"%%%"}`, "payload: not base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := ParseEnvelope([]byte(tt.doc))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(env.Payload) != string(payload) || env.PayloadType != InTotoPayloadType || len(env.Signatures) != 1 {
				t.Errorf("parsed %+v", env)
			}
		})
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// modelStatement is an OpenSSF model signing v1.0 statement over files.
func modelStatement(files map[string]string, order []string) Statement {
	root := sha256.New()
	var resources []map[string]string
	for _, name := range order {
		d := sha(files[name])
		raw, _ := hex.DecodeString(d)
		root.Write(raw)
		resources = append(resources, map[string]string{"name": name, "algorithm": "sha256", "digest": d})
	}
	predicate, _ := json.Marshal(map[string]any{
		"serialization": map[string]any{"method": "files", "hash_type": "sha256", "allow_symlinks": false},
		"resources":     resources,
	})
	return Statement{
		Type:          StatementV1,
		Subject:       []Subject{{Name: "fraud-model", Digest: map[string]string{"sha256": hex.EncodeToString(root.Sum(nil))}}},
		PredicateType: ModelSigningV1,
		Predicate:     predicate,
	}
}

func TestCovers(t *testing.T) {
	files := map[string]string{"config.json": "{}", "model.safetensors": "weights"}
	model := modelStatement(files, []string{"config.json", "model.safetensors"})
	forged := modelStatement(files, []string{"config.json", "model.safetensors"})
	forged.Subject[0].Digest["sha256"] = sha("other model")
	generic := Statement{Type: StatementV1, PredicateType: "https://slsa.dev/provenance/v1",
		Subject: []Subject{{Name: "model.onnx", Digest: map[string]string{"sha256": strings.ToUpper(sha("onnx"))}}}}
	tests := []struct {
		name     string
		st       Statement
		artifact string
		want     string
		wantErr  string
	}{
		{"subject digest", generic, sha("onnx"), "model.onnx", ""},
		{"subject digest differs", generic, sha("tampered"), "", "no subject has sha256"},
		{"model file", model, sha("weights"), "fraud-model/model.safetensors", ""},
		{"model file not listed", model, sha("tampered"), "", "no file of model"},
		{"resources do not hash to the subject", forged, sha("weights"), "", "resources hash to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.st.Covers(tt.artifact)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrNotCovered) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want ErrNotCovered with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Covers = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestVerifyArtifact(t *testing.T) {
	ctx := context.Background()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer := &KeyFile{Path: writeKey(t, key)}
	pub, _ := ParsePublicKey(publicKeyPEM(t, key))
	st, _ := json.Marshal(modelStatement(map[string]string{"model.bin": "weights"}, []string{"model.bin"}))
	env, err := Sign(ctx, signer, InTotoPayloadType, st)
	if err != nil {
		t.Fatal(err)
	}
	keyID, name, err := VerifyArtifact(ctx, env, pub, sha("weights"))
	if err != nil || keyID != pub.KeyID() || name != "fraud-model/model.bin" {
		t.Errorf("VerifyArtifact = %q, %q, %v", keyID, name, err)
	}
	if _, _, err := VerifyArtifact(ctx, env, pub, sha("poisoned")); !Refused(err) {
		t.Errorf("a file the statement does not list: %v, want a refusal", err)
	}
	other, _ := Sign(ctx, signer, "text/plain", []byte("hello"))
	if _, _, err := VerifyArtifact(ctx, other, pub, sha("weights")); !Refused(err) || !strings.Contains(err.Error(), "not an in-toto statement") {
		t.Errorf("a signed payload that is no statement: %v, want a refusal", err)
	}
}
