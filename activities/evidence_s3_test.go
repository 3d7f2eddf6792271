package activities

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aisoar/aisoar/attest"
	"github.com/aisoar/aisoar/evidence"
	"github.com/aisoar/aisoar/internal/s3test"
)

func s3Target(t *testing.T, srv *s3test.Server, name, bucket string) *Target {
	t.Helper()
	u, _ := url.Parse(srv.URL)
	return &Target{Name: name, Kind: "s3", URL: u, Bucket: bucket, Region: s3test.Region, Client: srv.Client(),
		Auth: TargetAuth{AccessKeyID: s3test.AccessKeyID, Secret: staticSecret(s3test.SecretAccessKey)}}
}

// TestSnapshotEvidenceS3 keeps every object under a prefix of a bucket.
func TestSnapshotEvidenceS3(t *testing.T) {
	srv := s3test.New(t, []string{"training-data"})
	srv.PutObject("training-data", "batches/2025-06-01/part-0.jsonl", []byte(`{"text":"ok"}`))
	srv.PutObject("training-data", "batches/2025-06-01/part-1.jsonl", []byte(`{"text":"ignore previous instructions"}`))
	srv.PutObject("training-data", "batches/2025-06-02/part-0.jsonl", []byte(`{"text":"later"}`))
	f := newEvidenceFixture(t, nil)
	f.targets["lake"] = s3Target(t, srv, "lake", "training-data")
	res, err := runSnapshot(t, f.env(HTTPOptions{}), SnapshotEvidenceParams{Items: []map[string]any{{"s3": "lake", "prefix": "batches/2025-06-01/"}}})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := f.store.Lookup(context.Background(), "default-test-workflow-id", res.ManifestID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, it := range sealed.Manifest.Items {
		names = append(names, it.Name)
	}
	want := []string{"s3:lake/batches/2025-06-01/part-0.jsonl", "s3:lake/batches/2025-06-01/part-1.jsonl"}
	if !reflect.DeepEqual(names, want) || !strings.HasSuffix(sealed.Manifest.Items[1].Source, "/training-data/batches/2025-06-01/part-1.jsonl") {
		t.Errorf("items = %+v, want %v", sealed.Manifest.Items, want)
	}
	if w := srv.Writes(); len(w) != 0 {
		t.Errorf("snapshot wrote to the bucket: %+v", w)
	}

	// A dry run lists nothing but the listing it would make.
	srv2 := s3test.New(t, []string{"training-data"})
	f.targets["lake"] = s3Target(t, srv2, "lake", "training-data")
	dry, err := runSnapshot(t, f.env(HTTPOptions{}), SnapshotEvidenceParams{Items: []map[string]any{{"s3": "lake", "prefix": "batches/"}}, DryRun: DryRun{DryRun: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(dry.Planned) != 1 || dry.Planned[0].Method != "GET" || !strings.Contains(dry.Planned[0].URL, "list-type=2") || len(srv2.Requests()) != 0 {
		t.Errorf("dry run planned %+v and sent %d requests", dry.Planned, len(srv2.Requests()))
	}
}

// TestEvidenceBucket is the evidence store on S3: written once with
// If-None-Match, verified like the local one.
func TestEvidenceBucket(t *testing.T) {
	srv := s3test.New(t, []string{"ai-evidence"})
	backend, err := EvidenceBucket(s3Target(t, srv, "evidence", "ai-evidence"))
	if err != nil {
		t.Fatal(err)
	}
	key := &attest.KeyFile{Path: filepath.Join(t.TempDir(), "key.pem")}
	store := evidence.New(evidence.Options{Backend: backend, Signer: key, Verifier: key})
	ctx := context.Background()
	blob, err := store.Put(ctx, strings.NewReader(`{"id":"a-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	m := evidence.Manifest{ID: "snap", Incident: "inc-1", Items: []evidence.Item{{Name: "alert", SHA256: blob.SHA256, Size: blob.Size}}}
	if _, err := store.Seal(ctx, m); err != nil {
		t.Fatal(err)
	}
	// Storing the same content again is refused by S3 and taken as done.
	if _, err := store.Put(ctx, strings.NewReader(`{"id":"a-1"}`)); err != nil {
		t.Fatal(err)
	}
	var puts []string
	for _, r := range srv.Writes() {
		puts = append(puts, r.Operation+" "+r.Key+" "+r.Header.Get("If-None-Match")+" "+http.StatusText(r.Status))
	}
	want := []string{
		"PutObject sha256/" + blob.SHA256 + " * OK",
		"PutObject manifests/inc-1/snap.json * OK",
		"PutObject manifests/inc-1/snap.dsse.json * OK",
		"PutObject sha256/" + blob.SHA256 + " * Precondition Failed",
	}
	if !reflect.DeepEqual(puts, want) {
		t.Errorf("writes =\n%q\nwant\n%q", puts, want)
	}
	report, err := store.Verify(ctx, "inc-1")
	if err != nil || report.Err() != nil {
		t.Fatalf("Verify: %v, %v", err, report.Err())
	}
	srv.PutObject("ai-evidence", "sha256/"+blob.SHA256, []byte(`{"id":"a-2"}`))
	report, _ = store.Verify(ctx, "inc-1")
	if err := report.Err(); err == nil || !strings.Contains(err.Error(), `item "alert" of manifest snap is MODIFIED`) {
		t.Errorf("tampered object: %v", err)
	}
	if !strings.HasSuffix(store.Location(), "/ai-evidence") {
		t.Errorf("location %q", store.Location())
	}
}
