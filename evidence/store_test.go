package evidence

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"

	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aisoar/aisoar/attest"
)

func newStore(t *testing.T) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	key := &attest.KeyFile{Path: filepath.Join(dir, "signing-key.pem")}
	return New(Options{Backend: Dir{Root: filepath.Join(dir, "store")}, Signer: key, Verifier: key}), filepath.Join(dir, "store")
}

// snapshot stores items and seals a manifest of them for incident inc-1.
func snapshot(t *testing.T, s *Store, id string, items map[string]string) *Sealed {
	t.Helper()
	ctx := context.Background()
	m := Manifest{ID: id, Incident: "inc-1", Step: "snapshot", Created: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
		Playbook: &Playbook{ID: "model-extraction", Version: 3, SHA256: strings.Repeat("ab", 32)}}
	for _, name := range []string{"alert", "gateway-logs", "run"} {
		content, ok := items[name]
		if !ok {
			continue
		}
		blob, err := s.Put(ctx, strings.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		m.Items = append(m.Items, Item{Name: name, Source: "test:" + name, SHA256: blob.SHA256, Size: blob.Size, FetchedAt: m.Created})
	}
	sealed, err := s.Seal(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

var items = map[string]string{"alert": `{"id":"a-1"}`, "gateway-logs": "GET /v1/chat 200\n", "run": `{"run_id":"r1"}`}

func TestSealAndVerify(t *testing.T) {
	s, root := newStore(t)
	sealed := snapshot(t, s, "snapshot-1", items)
	if sealed.Key != "manifests/inc-1/snapshot-1.json" || len(sealed.SHA256) != 64 || len(sealed.KeyID) != 64 {
		t.Errorf("sealed = %+v", sealed)
	}
	report, err := s.Verify(context.Background(), "inc-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := report.Err(); err != nil {
		t.Fatalf("fresh evidence does not verify: %v", err)
	}
	if len(report.Manifests) != 1 || len(report.Manifests[0].Items) != 3 || report.Manifests[0].KeyID != sealed.KeyID {
		t.Errorf("report = %+v", report)
	}
	// Items are read-only files named by their digest.
	info, err := os.Stat(filepath.Join(root, "sha256", sealed.Manifest.Items[0].SHA256))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o400 {
		t.Errorf("item mode %v, want 0400", info.Mode().Perm())
	}
}

func TestWriteOnce(t *testing.T) {
	s, root := newStore(t)
	first := snapshot(t, s, "snapshot-1", items)
	// A retried step stores the same content and seals the same id again,
	// with a later time: nothing is rewritten, the first manifest stands.
	m := first.Manifest
	m.Created = m.Created.Add(time.Minute)
	again, err := s.Seal(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if again.SHA256 != first.SHA256 || !again.Manifest.Created.Equal(first.Manifest.Created) {
		t.Errorf("second Seal = %+v, want the first %+v", again, first)
	}
	blob, err := s.Put(context.Background(), strings.NewReader(items["alert"]))
	if err != nil {
		t.Fatal(err)
	}
	if blob.SHA256 != first.Manifest.Items[0].SHA256 {
		t.Errorf("same content, different digest %s", blob.SHA256)
	}
	blobs, _ := os.ReadDir(filepath.Join(root, "sha256"))
	if len(blobs) != 3 {
		t.Errorf("store holds %d blobs, want 3", len(blobs))
	}
	if err := (Dir{Root: root}).Create(context.Background(), first.Key, strings.NewReader("{}")); !errors.Is(err, ErrExists) {
		t.Errorf("overwriting a manifest: %v, want ErrExists", err)
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		name   string
		tamper func(t *testing.T, root string, sealed *Sealed)
		check  func(t *testing.T, m ManifestReport)
		want   []string // in Report.Err
	}{
		{
			name: "one byte of an item",
			tamper: func(t *testing.T, root string, sealed *Sealed) {
				flipByte(t, filepath.Join(root, "sha256", sealed.Manifest.Items[1].SHA256), 3)
			},
			check: func(t *testing.T, m ManifestReport) {
				if m.Items[1].Status != StatusModified || m.Items[1].Actual == "" || m.Items[0].Status != StatusOK {
					t.Errorf("items = %+v", m.Items)
				}
			},
			want: []string{`item "gateway-logs" of manifest snapshot-1 is MODIFIED`},
		},
		{
			name: "an item deleted",
			tamper: func(t *testing.T, root string, sealed *Sealed) {
				remove(t, filepath.Join(root, "sha256", sealed.Manifest.Items[2].SHA256))
			},
			want: []string{`item "run" of manifest snapshot-1 is MISSING`},
		},
		{
			name: "one byte of the manifest",
			tamper: func(t *testing.T, root string, sealed *Sealed) {
				flipByte(t, filepath.Join(root, filepath.FromSlash(sealed.Key)), 40)
			},
			check: func(t *testing.T, m ManifestReport) {
				if m.Signature != StatusOK || len(m.Items) != 3 {
					t.Errorf("the signed copy should still be checked: %+v", m)
				}
			},
			want: []string{"manifest manifests/inc-1/snapshot-1.json is MODIFIED"},
		},
		{
			name: "manifest and signature replaced with another key's",
			tamper: func(t *testing.T, root string, sealed *Sealed) {
				path := filepath.Join(root, "other-key.pem")
				der, _ := x509.MarshalPKCS8PrivateKey(otherKey)
				os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
				forger := New(Options{Backend: Dir{Root: filepath.Join(root, "forged")}, Signer: &attest.KeyFile{Path: path}})
				m := sealed.Manifest
				m.Items = m.Items[:1]
				forged, err := forger.Seal(context.Background(), m)
				if err != nil {
					t.Fatal(err)
				}
				for _, key := range []string{forged.Key, strings.TrimSuffix(forged.Key, ".json") + ".dsse.json"} {
					data, _ := os.ReadFile(filepath.Join(root, "forged", key))
					replace(t, filepath.Join(root, key), data)
				}
			},
			want: []string{"signature of manifest manifests/inc-1/snapshot-1.json is INVALID", "signature does not verify"},
		},
		{
			name: "signature deleted",
			tamper: func(t *testing.T, root string, sealed *Sealed) {
				remove(t, filepath.Join(root, "manifests", "inc-1", "snapshot-1.dsse.json"))
			},
			want: []string{"signature of manifest manifests/inc-1/snapshot-1.json is MISSING"},
		},
		{
			name: "manifest deleted",
			tamper: func(t *testing.T, root string, sealed *Sealed) {
				remove(t, filepath.Join(root, filepath.FromSlash(sealed.Key)))
			},
			check: func(t *testing.T, m ManifestReport) {
				if m.Signature != StatusOK || len(m.Items) != 3 {
					t.Errorf("the signed copy should still be checked: %+v", m)
				}
			},
			want: []string{"manifest manifests/inc-1/snapshot-1.json is MISSING"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, root := newStore(t)
			sealed := snapshot(t, s, "snapshot-1", items)
			tt.tamper(t, root, sealed)
			report, err := s.Verify(context.Background(), "inc-1")
			if err != nil {
				t.Fatal(err)
			}
			if len(report.Manifests) != 1 {
				t.Fatalf("report has %d manifests, want 1", len(report.Manifests))
			}
			if tt.check != nil {
				tt.check(t, report.Manifests[0])
			}
			err = report.Err()
			if err == nil {
				t.Fatal("tampered evidence verifies")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestVerifyNoEvidence(t *testing.T) {
	s, _ := newStore(t)
	snapshot(t, s, "snapshot-1", items)
	if _, err := s.Verify(context.Background(), "inc-2"); err == nil || !strings.Contains(err.Error(), `no evidence of incident "inc-2"`) {
		t.Errorf("Verify of an unknown incident: %v", err)
	}
}

func TestPutTooLarge(t *testing.T) {
	dir := t.TempDir()
	s := New(Options{Backend: Dir{Root: dir}, MaxItemBytes: 4})
	if _, err := s.Put(context.Background(), strings.NewReader("12345")); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Put over the limit: %v, want ErrTooLarge", err)
	}
	if blob, err := s.Put(context.Background(), strings.NewReader("1234")); err != nil || blob.Size != 4 {
		t.Errorf("Put at the limit: %+v, %v", blob, err)
	}
}

func TestIncidentIDsStayOneSegment(t *testing.T) {
	s, root := newStore(t)
	ctx := context.Background()
	blob, _ := s.Put(ctx, strings.NewReader("x"))
	for _, inc := range []string{"../escape", "a/b", ".."} {
		m := Manifest{ID: "../id", Incident: inc, Items: []Item{{Name: "x", SHA256: blob.SHA256, Size: 1}}}
		sealed, err := s.Seal(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(sealed.Key, "/") != 2 || strings.Contains(sealed.Key, "/../") {
			t.Errorf("incident %q stored at %q", inc, sealed.Key)
		}
		report, err := s.Verify(ctx, inc)
		if err != nil || report.Err() != nil {
			t.Errorf("Verify(%q): %v, %v", inc, err, report.Err())
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(root), "escape")); err == nil {
		t.Error("an incident id escaped the store")
	}
}

func flipByte(t *testing.T, path string, at int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[at] ^= 0x01
	replace(t, path, data)
}

func replace(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}
