package activities

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/aisoar/aisoar/attest"
	"github.com/aisoar/aisoar/evidence"
)

// evidenceFixture is a gateway that serves evidence, an http target on it
// and an evidence store in a temporary directory.
type evidenceFixture struct {
	srv     *target
	targets Targets
	store   *evidence.Store
	root    string
}

const logsToken = "logs-token"

func newEvidenceFixture(t *testing.T, reply http.HandlerFunc) *evidenceFixture {
	t.Helper()
	if reply == nil {
		reply = serveEvidence
	}
	srv := newTarget(t, reply)
	u, _ := url.Parse(srv.URL + "/api")
	root := t.TempDir()
	key := &attest.KeyFile{Path: filepath.Join(root, "signing-key.pem")}
	return &evidenceFixture{
		srv: srv,
		targets: Targets{"logs": {Name: "logs", Kind: "http", URL: u, Client: &http.Client{Timeout: 200 * time.Millisecond},
			Auth: TargetAuth{Header: "Authorization", Scheme: "Bearer", Secret: func(context.Context) (string, error) { return logsToken, nil }}}},
		store: evidence.New(evidence.Options{Backend: evidence.Dir{Root: filepath.Join(root, "store")}, Signer: key, Verifier: key}),
		root:  root,
	}
}

// serveEvidence answers like a gateway with request logs and a log search.
func serveEvidence(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/alerts/a-1.json":
		answer(http.StatusOK, "application/json", `{"id":"a-1","rule":"extraction"}`)(w, r)
	case "/api/spend/logs":
		answer(http.StatusOK, "application/json", `[{"key":"k-1","requests":9000}]`)(w, r)
	case "/api/search":
		answer(http.StatusOK, "application/x-ndjson", "{\"msg\":\"GET /v1/chat\"}\n")(w, r)
	default:
		answer(http.StatusNotFound, "text/plain", "no such page")(w, r)
	}
}

func (f *evidenceFixture) env(opts HTTPOptions) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	if opts.AllowHosts == nil {
		opts.AllowHosts = []string{f.srv.hostPort()}
	}
	a := &snapshotEvidenceAction{http: newHTTPAction(opts), targets: f.targets, store: f.store}
	env.RegisterActivityWithOptions(a.Run, activity.RegisterOptions{Name: "snapshot_evidence"})
	return env
}

func runSnapshot(t *testing.T, env *testsuite.TestActivityEnvironment, p SnapshotEvidenceParams) (SnapshotEvidenceResult, error) {
	t.Helper()
	val, err := env.ExecuteActivity("snapshot_evidence", p)
	if err != nil {
		return SnapshotEvidenceResult{}, err
	}
	var res SnapshotEvidenceResult
	if err := val.Get(&res); err != nil {
		t.Fatal(err)
	}
	return res, nil
}

func (f *evidenceFixture) params() SnapshotEvidenceParams {
	return SnapshotEvidenceParams{
		Items: []map[string]any{
			{"url": f.srv.URL + "/alerts/a-1.json"},
			{"target": "logs", "path": "/spend/logs", "name": "spend-logs"},
			{"log_query": "logs", "path": "search", "body": map[string]any{"query": "key:k-1", "size": 100}},
			{"name": "alert", "value": map[string]any{"id": "a-1", "severity": 8}},
		},
		Playbook: &EvidencePlaybook{ID: "model-extraction", Version: 2, Title: "Model extraction", Hash: strings.Repeat("c", 64)},
	}
}

func TestSnapshotEvidence(t *testing.T) {
	f := newEvidenceFixture(t, nil)
	res, err := runSnapshot(t, f.env(HTTPOptions{}), f.params())
	if err != nil {
		t.Fatal(err)
	}
	if res.Items != 4 || !strings.HasPrefix(res.ManifestID, "0-") || res.Manifest != "manifests/default-test-workflow-id/"+res.ManifestID+".json" ||
		len(res.ManifestSHA256) != 64 || len(res.KeyID) != 64 || res.Store != filepath.Join(f.root, "store") {
		t.Errorf("result = %+v", res)
	}

	// Exactly these requests, the target's with its credentials.
	var got []string
	for _, r := range f.srv.requests() {
		got = append(got, r.Method+" "+r.Path+" "+r.Header.Get("Authorization")+" "+r.Body)
	}
	want := []string{
		"GET /alerts/a-1.json  ",
		"GET /api/spend/logs Bearer " + logsToken + " ",
		"POST /api/search Bearer " + logsToken + ` {"query":"key:k-1","size":100}`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("requests =\n%q\nwant\n%q", got, want)
	}

	// The manifest lists each item as served, and verifies.
	sealed, err := f.store.Lookup(context.Background(), "default-test-workflow-id", res.ManifestID)
	if err != nil {
		t.Fatal(err)
	}
	m := sealed.Manifest
	if m.Step != "0" || m.Playbook == nil || m.Playbook.ID != "model-extraction" || m.Playbook.SHA256 != strings.Repeat("c", 64) {
		t.Errorf("manifest = %+v", m)
	}
	wantItems := map[string]string{
		f.srv.URL + "/alerts/a-1.json": `{"id":"a-1","rule":"extraction"}`,
		"spend-logs":                   `[{"key":"k-1","requests":9000}]`,
		"logs:search":                  "{\"msg\":\"GET /v1/chat\"}\n",
		"alert":                        `{"id":"a-1","severity":8}`,
	}
	for _, it := range m.Items {
		r, err := f.store.Open(context.Background(), it.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(r)
		r.Close()
		if string(data) != wantItems[it.Name] {
			t.Errorf("item %q holds %q, want %q", it.Name, data, wantItems[it.Name])
		}
	}
	if m.Items[2].Source != "POST "+f.srv.URL+"/api/search" || m.Items[1].ContentType != "application/json" {
		t.Errorf("items = %+v", m.Items)
	}
	report, err := f.store.Verify(context.Background(), "default-test-workflow-id")
	if err != nil || report.Err() != nil {
		t.Errorf("Verify: %v, %v", err, report.Err())
	}
}

func TestSnapshotEvidenceRerun(t *testing.T) {
	f := newEvidenceFixture(t, nil)
	// A fresh environment replays the same step, as a Temporal retry does.
	first, err := runSnapshot(t, f.env(HTTPOptions{}), f.params())
	if err != nil {
		t.Fatal(err)
	}
	sent := len(f.srv.requests())
	again, err := runSnapshot(t, f.env(HTTPOptions{}), f.params())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, again) {
		t.Errorf("re-run = %+v, want %+v", again, first)
	}
	if n := len(f.srv.requests()); n != sent {
		t.Errorf("the re-run fetched again: %d requests, want %d", n, sent)
	}

	// A crash after the items were stored but before the manifest: the
	// re-run stores nothing twice and seals one manifest.
	g := newEvidenceFixture(t, nil)
	env := g.env(HTTPOptions{})
	if _, err := g.store.Put(context.Background(), strings.NewReader(`{"id":"a-1","severity":8}`)); err != nil {
		t.Fatal(err)
	}
	res, err := runSnapshot(t, env, g.params())
	if err != nil {
		t.Fatal(err)
	}
	blobs, _ := os.ReadDir(filepath.Join(g.root, "store", "sha256"))
	manifests, _ := os.ReadDir(filepath.Join(g.root, "store", "manifests", "default-test-workflow-id"))
	if len(blobs) != 4 || len(manifests) != 2 || res.Items != 4 {
		t.Errorf("%d blobs and %d manifest files, want 4 and 2 (manifest and signature)", len(blobs), len(manifests))
	}
}

func TestSnapshotEvidenceDryRun(t *testing.T) {
	f := newEvidenceFixture(t, nil)
	p := f.params()
	p.DryRun = DryRun{DryRun: true}
	res, err := runSnapshot(t, f.env(HTTPOptions{}), p)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.srv.requests()); n != 0 {
		t.Errorf("a dry run sent %d requests", n)
	}
	want := []PlannedRequest{
		{Method: "GET", URL: f.srv.URL + "/alerts/a-1.json"},
		{Method: "GET", URL: f.srv.URL + "/api/spend/logs"},
		{Method: "POST", URL: f.srv.URL + "/api/search", Body: map[string]any{"query": "key:k-1", "size": float64(100)}},
	}
	if !res.DryRun || !reflect.DeepEqual(res.Planned, want) {
		t.Errorf("plan = %+v, want %+v", res.Plan, want)
	}
	if _, err := os.Stat(filepath.Join(f.root, "store")); !os.IsNotExist(err) {
		t.Errorf("a dry run wrote to the store: %v", err)
	}
}

func TestSnapshotEvidenceErrors(t *testing.T) {
	tests := []struct {
		name      string
		reply     http.HandlerFunc
		items     []map[string]any
		retryable bool
		want      string
	}{
		{"target 4xx", answer(http.StatusForbidden, "application/json", `{"error":"key lacks logs:read"}`),
			[]map[string]any{{"target": "logs", "path": "/spend/logs"}}, false, `answered 403 Forbidden: {"error":"key lacks logs:read"}`},
		{"target 5xx", answer(http.StatusBadGateway, "text/plain", "upstream down"),
			[]map[string]any{{"log_query": "logs", "path": "/search", "body": "q"}}, true, "answered 502"},
		{"timeout", func(w http.ResponseWriter, r *http.Request) { time.Sleep(time.Second) },
			[]map[string]any{{"target": "logs", "path": "/spend/logs"}}, true, "Timeout"},
		{"url not allowed", nil, []map[string]any{{"url": "http://169.254.169.254/latest/meta-data/"}}, false, "not in actions.http.allow_hosts"},
		{"unknown field", nil, []map[string]any{{"url": "http://x", "header": "y"}}, false, `items[0]: json: unknown field "header"`},
		{"two forms", nil, []map[string]any{{"url": "http://x", "target": "logs", "path": "/"}}, false, "set one of url, target, log_query, s3, value (this sets url, target)"},
		{"value without a name", nil, []map[string]any{{"value": 1}}, false, "value needs a name"},
		{"same name twice", nil, []map[string]any{{"name": "a", "value": 1}, {"name": "a", "value": 2}}, false, `another item is also named "a"`},
		{"unknown target", nil, []map[string]any{{"target": "siem", "path": "/"}}, false, `no target "siem"`},
		{"no items", nil, nil, false, "items is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newEvidenceFixture(t, tt.reply)
			_, err := runSnapshot(t, f.env(HTTPOptions{}), SnapshotEvidenceParams{Items: tt.items})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if retryable := !appError(t, err).NonRetryable(); retryable != tt.retryable {
				t.Errorf("retryable = %v, want %v", retryable, tt.retryable)
			}
		})
	}
}

func TestSnapshotEvidenceWithoutStore(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	a := &snapshotEvidenceAction{http: newHTTPAction(HTTPOptions{})}
	env.RegisterActivityWithOptions(a.Run, activity.RegisterOptions{Name: "snapshot_evidence"})
	_, err := runSnapshot(t, env, SnapshotEvidenceParams{Items: []map[string]any{{"name": "a", "value": 1}}})
	if err == nil || !strings.Contains(err.Error(), "no evidence store is configured") || !appError(t, err).NonRetryable() {
		t.Errorf("error %v, want a non-retryable configuration error", err)
	}
}
