package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aisoar/aisoar/attest"
	"github.com/aisoar/aisoar/evidence"
)

// sealEvidence stores two items for incident inc-7 in dir, signed with the
// key file in dir as `aisoar dev` does, and returns the sealed manifest.
func sealEvidence(t *testing.T, dir string) *evidence.Sealed {
	t.Helper()
	ctx := context.Background()
	key := &attest.KeyFile{Path: filepath.Join(dir, "signing-key.pem")}
	s := evidence.New(evidence.Options{Backend: evidence.Dir{Root: dir}, Signer: key, Verifier: key})
	m := evidence.Manifest{ID: "snapshot-1", Incident: "inc-7", Created: time.Now().UTC()}
	for _, it := range []struct{ name, content string }{{"alert", `{"id":"a-7"}`}, {"gateway-logs", "GET /v1/chat 200\n"}} {
		blob, err := s.Put(ctx, strings.NewReader(it.content))
		if err != nil {
			t.Fatal(err)
		}
		m.Items = append(m.Items, evidence.Item{Name: it.name, Source: "test", SHA256: blob.SHA256, Size: blob.Size, FetchedAt: m.Created})
	}
	sealed, err := s.Seal(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

func rewrite(t *testing.T, path string, change func([]byte) []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o600)
	if err := os.WriteFile(path, change(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestEvidenceVerify(t *testing.T) {
	tests := []struct {
		name    string
		tamper  func(t *testing.T, dir string, s *evidence.Sealed)
		wantErr string
		want    []string
	}{
		{"intact", nil, "", []string{"Incident: inc-7", "Signature: ok, key ", "alert ok 12", "gateway-logs ok 17"}},
		{"one byte of an item", func(t *testing.T, dir string, s *evidence.Sealed) {
			rewrite(t, filepath.Join(dir, "sha256", s.Manifest.Items[0].SHA256), func(b []byte) []byte { b[2] ^= 1; return b })
		}, `item "alert" of manifest snapshot-1 is MODIFIED`, []string{"alert MODIFIED", "gateway-logs ok"}},
		{"an item missing", func(t *testing.T, dir string, s *evidence.Sealed) {
			os.Remove(filepath.Join(dir, "sha256", s.Manifest.Items[1].SHA256))
		}, `item "gateway-logs" of manifest snapshot-1 is MISSING`, []string{"gateway-logs MISSING"}},
		{"the manifest changed", func(t *testing.T, dir string, s *evidence.Sealed) {
			rewrite(t, filepath.Join(dir, filepath.FromSlash(s.Key)), func(b []byte) []byte {
				return []byte(strings.Replace(string(b), `"alert"`, `"alert2"`, 1))
			})
		}, "manifest manifests/inc-7/snapshot-1.json is MODIFIED", []string{"Manifest: manifests/inc-7/snapshot-1.json (MODIFIED)", "alert ok"}},
		{"the signature changed", func(t *testing.T, dir string, s *evidence.Sealed) {
			rewrite(t, filepath.Join(dir, "manifests", "inc-7", "snapshot-1.dsse.json"), func(b []byte) []byte {
				var env map[string]any
				json.Unmarshal(b, &env)
				env["signatures"].([]any)[0].(map[string]any)["sig"] = "AAAA"
				out, _ := json.Marshal(env)
				return out
			})
		}, "signature of manifest manifests/inc-7/snapshot-1.json is INVALID", []string{"Signature: INVALID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			sealed := sealEvidence(t, dir)
			if tt.tamper != nil {
				tt.tamper(t, dir, sealed)
			}
			out, err := run(t, "evidence", "verify", "--evidence-dir", dir, "inc-7")
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want %q\n%s", err, tt.wantErr, out)
			}
			words := strings.Join(strings.Fields(out), " ")
			for _, w := range tt.want {
				if !strings.Contains(words, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestEvidenceVerifyDevStoreAndJSON(t *testing.T) {
	dataDir := t.TempDir()
	sealEvidence(t, devEvidenceDir(dataDir))
	t.Setenv("AISOAR_DATA_DIR", dataDir)
	out, err := run(t, "evidence", "verify", "--json", "inc-7")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var report evidence.Report
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if len(report.Manifests) != 1 || len(report.Manifests[0].Items) != 2 || report.Manifests[0].Signature != evidence.StatusOK {
		t.Errorf("report = %+v", report)
	}
	if _, err := run(t, "evidence", "verify", "inc-8"); err == nil || !strings.Contains(err.Error(), `no evidence of incident "inc-8"`) {
		t.Errorf("unknown incident: %v", err)
	}
}

func TestEvidenceVerifyWithPublicKey(t *testing.T) {
	dir := t.TempDir()
	sealEvidence(t, dir)
	writePub := func(pub any) string {
		der, _ := x509.MarshalPKIXPublicKey(pub)
		path := filepath.Join(t.TempDir(), "key.pub")
		os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
		return path
	}
	data, _ := os.ReadFile(filepath.Join(dir, "signing-key.pem"))
	block, _ := pem.Decode(data)
	signing, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, "evidence", "verify", "--evidence-dir", dir, "--public-key", writePub(signing.(ed25519.PrivateKey).Public()), "inc-7"); err != nil {
		t.Errorf("verifying with the signing key's public half: %v\n%s", err, out)
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	out, err := run(t, "evidence", "verify", "--evidence-dir", dir, "--public-key", writePub(other.Public()), "inc-7")
	if err == nil || !strings.Contains(err.Error(), "is INVALID") {
		t.Errorf("verifying with another key: %v\n%s", err, out)
	}
}
