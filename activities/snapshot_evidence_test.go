package activities

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
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
	"github.com/aisoar/aisoar/internal/mlflowtest"
	"github.com/aisoar/aisoar/internal/s3test"
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
	root := t.TempDir()
	key := &attest.KeyFile{Path: filepath.Join(root, "signing-key.pem")}
	return &evidenceFixture{
		srv:     srv,
		targets: Targets{"logs": srv.httpTarget("logs", "/api", logsToken)},
		store:   evidence.New(evidence.Options{Backend: evidence.Dir{Root: filepath.Join(root, "store")}, Signer: key, Verifier: key}),
		root:    root,
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
	if opts.AllowHosts == nil {
		opts.AllowHosts = []string{f.srv.hostPort()}
	}
	a := &snapshotEvidenceAction{http: newHTTPAction(opts), targets: f.targets, store: f.store}
	return actionEnv("snapshot_evidence", a.Run)
}

func runSnapshot(t *testing.T, env *testsuite.TestActivityEnvironment, p SnapshotEvidenceParams) (SnapshotEvidenceResult, error) {
	t.Helper()
	return runAction[SnapshotEvidenceResult](t, env, "snapshot_evidence", p)
}

func (f *evidenceFixture) params() SnapshotEvidenceParams {
	return SnapshotEvidenceParams{
		Items: []map[string]any{
			{"url": f.srv.URL + "/alerts/a-1.json"},
			{"target": "logs", "path": "/spend/logs", "name": "spend-logs"},
			{"log_query": "logs", "path": "search", "body": map[string]any{"query": "key:k-1", "size": 100}},
			{"name": "alert", "value": map[string]any{"id": "a-1", "severity": 8}},
		},
		Playbook: &EvidencePlaybook{ID: "model-extraction", Version: 2, Title: "Model extraction", Hash: playbookHash, Source: playbookSource},
	}
}

// The playbook a snapshot records, and the SHA-256 of its text.
const (
	playbookSource = "id: model-extraction\nversion: 2\n"
	playbookHash   = "a53e36cde769b73b034f5112fc8e845857b54fad3ba6159aa4e738dee166a778"
)

func TestSnapshotEvidence(t *testing.T) {
	f := newEvidenceFixture(t, nil)
	res, err := runSnapshot(t, f.env(HTTPOptions{}), f.params())
	if err != nil {
		t.Fatal(err)
	}
	if res.Items != 5 || !strings.HasPrefix(res.ManifestID, "0-") || res.Manifest != "manifests/default-test-workflow-id/"+res.ManifestID+".json" ||
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
	if m.Step != "0" || m.Playbook == nil || m.Playbook.ID != "model-extraction" || m.Playbook.SHA256 != playbookHash {
		t.Errorf("manifest = %+v", m)
	}
	wantItems := map[string]string{
		f.srv.URL + "/alerts/a-1.json": `{"id":"a-1","rule":"extraction"}`,
		"spend-logs":                   `[{"key":"k-1","requests":9000}]`,
		"logs:search":                  "{\"msg\":\"GET /v1/chat\"}\n",
		"alert":                        `{"id":"a-1","severity":8}`,
		"playbook.yaml":                playbookSource,
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
	if m.Items[2].Source != "POST "+f.srv.URL+"/api/search" || m.Items[1].ContentType != "application/json" || m.Items[4].SHA256 != playbookHash {
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
	if len(blobs) != 5 || len(manifests) != 2 || res.Items != 5 {
		t.Errorf("%d blobs and %d manifest files, want 5 (four items and the playbook) and 2 (manifest and signature)", len(blobs), len(manifests))
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
		{"two forms", nil, []map[string]any{{"url": "http://x", "target": "logs", "path": "/"}}, false, "set one of url, target, log_query, s3, mlflow, value (this sets url, target)"},
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

const (
	mlflowUser     = "aisoar"
	mlflowPassword = "mlflow-password"
)

// mlflowEvidence is an MLflow double holding run r-1 of experiment 3 with
// a model directory (three files, one in a subdirectory) and a note,
// listed two entries a page, on an mlflow target "registry" of a fixture.
func mlflowEvidence(t *testing.T) (*evidenceFixture, *mlflowtest.Server, map[string][]byte) {
	t.Helper()
	artifacts := map[string][]byte{
		"model/MLmodel":                []byte("flavors:\n  python_function: {loader_module: mlflow.sklearn}\n"),
		"model/data/weights v2.bin":    {0xde, 0xad, 0xbe, 0xef},
		"model/requirements.txt":       []byte("scikit-learn==1.5.0\n"),
		"notes.txt":                    []byte("trained on batch 2025-06-01"),
		"other/model/requirements.txt": []byte("unrelated"),
	}
	srv := mlflowtest.New(t, mlflowUser, mlflowPassword)
	srv.AddRun(mlflowtest.Run{ID: "r-1", ExperimentID: "3", Name: "nightly", Metrics: map[string]float64{"auc": 0.91},
		Params: map[string]string{"lr": "0.01"}, Tags: map[string]string{"mlflow.user": "ci"}, Artifacts: artifacts})
	srv.SetArtifactPageSize(2)
	f := newEvidenceFixture(t, nil)
	u, _ := url.Parse(srv.URL)
	f.targets["registry"] = &Target{Name: "registry", Kind: "mlflow", URL: u, Client: &http.Client{Timeout: 2 * time.Second},
		Auth: TargetAuth{Username: mlflowUser, Secret: staticSecret(mlflowPassword)}}
	return f, srv, artifacts
}

// sentToMLflow lists the requests the double received as "METHOD path?query".
func sentToMLflow(srv *mlflowtest.Server) []string {
	var out []string
	for _, r := range srv.Requests() {
		out = append(out, r.Method+" "+r.Path+"?"+r.Query.Encode())
	}
	return out
}

func TestSnapshotEvidenceMLflow(t *testing.T) {
	f, srv, artifacts := mlflowEvidence(t)
	res, err := runSnapshot(t, f.env(HTTPOptions{}), SnapshotEvidenceParams{Items: []map[string]any{
		{"mlflow": "registry", "run_id": "r-1", "artifact_path": "model"},
	}})
	if err != nil {
		t.Fatal(err)
	}

	// The run, then the model directory found in the root's listing and
	// walked page by page, each file fetched through the artifacts proxy.
	api, proxy := mlflowtest.API, mlflowtest.ArtifactsAPI+"3/r-1/artifacts/"
	want := []string{
		"GET " + api + "runs/get?run_id=r-1",
		"GET " + api + "artifacts/list?run_id=r-1",
		"GET " + api + "artifacts/list?path=model&run_id=r-1",
		"GET " + proxy + "model/MLmodel?",
		"GET " + api + "artifacts/list?path=model%2Fdata&run_id=r-1",
		"GET " + proxy + "model/data/weights v2.bin?",
		"GET " + api + "artifacts/list?page_token=2&path=model&run_id=r-1",
		"GET " + proxy + "model/requirements.txt?",
	}
	if got := sentToMLflow(srv); !reflect.DeepEqual(got, want) {
		t.Errorf("requests =\n%q\nwant\n%q", got, want)
	}

	sealed, err := f.store.Lookup(context.Background(), "default-test-workflow-id", res.ManifestID)
	if err != nil {
		t.Fatal(err)
	}
	wantItems := map[string][]byte{
		"mlflow/r-1/artifacts/model/MLmodel":             artifacts["model/MLmodel"],
		"mlflow/r-1/artifacts/model/data/weights v2.bin": artifacts["model/data/weights v2.bin"],
		"mlflow/r-1/artifacts/model/requirements.txt":    artifacts["model/requirements.txt"],
	}
	if len(sealed.Manifest.Items) != 4 || res.Items != 4 {
		t.Fatalf("items = %+v, want run.json and three artifacts", sealed.Manifest.Items)
	}
	for _, it := range sealed.Manifest.Items {
		stored := readEvidence(t, f.store, it.SHA256)
		if it.Name == "mlflow/r-1/run.json" {
			var run struct {
				Run struct {
					Info struct {
						ArtifactURI string `json:"artifact_uri"`
					} `json:"info"`
					Data struct{ Params []map[string]string } `json:"data"`
				} `json:"run"`
			}
			if err := json.Unmarshal(stored, &run); err != nil || run.Run.Info.ArtifactURI != "mlflow-artifacts:/3/r-1/artifacts" ||
				len(run.Run.Data.Params) != 1 || it.ContentType != "application/json" || it.Source != "GET "+srv.URL+api+"runs/get?run_id=r-1" {
				t.Errorf("run.json = %+v holding %s (%v)", it, stored, err)
			}
			continue
		}
		content, ok := wantItems[it.Name]
		sum := sha256.Sum256(content)
		if !ok || !bytes.Equal(stored, content) || it.SHA256 != hex.EncodeToString(sum[:]) || it.Size != int64(len(content)) {
			t.Errorf("item %+v holds %q", it, stored)
		}
	}
	if it := sealed.Manifest.Items[2]; it.Source != "GET "+srv.URL+proxy+"model/data/weights%20v2.bin" || it.ContentType != "application/octet-stream" {
		t.Errorf("weights item = %+v", it)
	}
	report, err := f.store.Verify(context.Background(), "default-test-workflow-id")
	if err != nil || report.Err() != nil {
		t.Errorf("Verify: %v, %v", err, report.Err())
	}
}

// TestSnapshotEvidenceMLflowPaths keeps the run alone, one file, or all
// of its artifacts, and names items after name when it is set.
func TestSnapshotEvidenceMLflowPaths(t *testing.T) {
	tests := []struct {
		item map[string]any
		want []string
	}{
		{map[string]any{}, []string{"mlflow/r-1/run.json"}},
		{map[string]any{"artifact_path": "notes.txt"}, []string{"mlflow/r-1/run.json", "mlflow/r-1/artifacts/notes.txt"}},
		{map[string]any{"artifact_path": "/model/data/", "name": "incident-model"}, []string{"incident-model/run.json", "incident-model/artifacts/model/data/weights v2.bin"}},
		{map[string]any{"artifact_path": "."}, []string{"mlflow/r-1/run.json", "mlflow/r-1/artifacts/model/MLmodel", "mlflow/r-1/artifacts/model/data/weights v2.bin",
			"mlflow/r-1/artifacts/model/requirements.txt", "mlflow/r-1/artifacts/notes.txt", "mlflow/r-1/artifacts/other/model/requirements.txt"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.item), func(t *testing.T) {
			f, _, _ := mlflowEvidence(t)
			item := map[string]any{"mlflow": "registry", "run_id": "r-1"}
			maps.Copy(item, tt.item)
			res, err := runSnapshot(t, f.env(HTTPOptions{}), SnapshotEvidenceParams{Items: []map[string]any{item}})
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
			if !reflect.DeepEqual(names, tt.want) {
				t.Errorf("items %q, want %q", names, tt.want)
			}
		})
	}
}

func TestSnapshotEvidenceMLflowDryRun(t *testing.T) {
	f, srv, _ := mlflowEvidence(t)
	res, err := runSnapshot(t, f.env(HTTPOptions{}), SnapshotEvidenceParams{DryRun: DryRun{DryRun: true},
		Items: []map[string]any{{"mlflow": "registry", "run_id": "r-1", "artifact_path": "model/data"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.Requests(); len(got) != 0 {
		t.Errorf("a dry run sent %d requests", len(got))
	}
	want := []PlannedRequest{
		{Method: "GET", URL: srv.URL + mlflowtest.API + "runs/get?run_id=r-1"},
		{Method: "GET", URL: srv.URL + mlflowtest.API + "artifacts/list?path=model&run_id=r-1"},
		{Method: "GET", URL: srv.URL + mlflowtest.ArtifactsAPI + "<experiment_id>/r-1/artifacts/<each artifact file at or under model/data>"},
	}
	if !res.DryRun || !reflect.DeepEqual(res.Planned, want) {
		t.Errorf("plan = %+v, want %+v", res.Planned, want)
	}
}

func TestSnapshotEvidenceMLflowErrors(t *testing.T) {
	tests := []struct {
		name      string
		item      map[string]any
		fail      func(*mlflowtest.Server)
		retryable bool
		want      string
	}{
		{"no such run", map[string]any{"run_id": "r-9"}, nil, false,
			`runs/get?run_id=r-9 answered 404 Not Found: {"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Run with id=r-9 not found"}`},
		{"run 5xx", map[string]any{"run_id": "r-1"}, func(s *mlflowtest.Server) {
			s.FailNext("GET", mlflowtest.API+"runs/get", http.StatusServiceUnavailable, 1)
		}, true,
			"answered 503 Service Unavailable"},
		{"listing 5xx", map[string]any{"run_id": "r-1", "artifact_path": "model"}, func(s *mlflowtest.Server) {
			s.FailNext("GET", mlflowtest.API+"artifacts/list", http.StatusInternalServerError, 1)
		}, true, `listing artifacts "" of MLflow run "r-1"`},
		{"download 5xx", map[string]any{"run_id": "r-1", "artifact_path": "notes.txt"}, func(s *mlflowtest.Server) {
			s.FailNext("GET", mlflowtest.ArtifactsAPI+"3/r-1/artifacts/notes.txt", http.StatusBadGateway, 1)
		}, true, "answered 502 Bad Gateway"},
		{"no such artifact", map[string]any{"run_id": "r-1", "artifact_path": "model/missing.pkl"}, nil, false,
			`MLflow run "r-1" of target "registry" has no artifact "model/missing.pkl"`},
		{"run id with a slash", map[string]any{"run_id": "../r-1"}, nil, false, `mlflow needs run_id, the run's id (letters, digits, - and _); got "../r-1"`},
		{"artifact path out of the run", map[string]any{"run_id": "r-1", "artifact_path": "model/../../x"}, nil, false, `artifact_path "model/../../x" leaves the run's artifacts`},
		{"not an mlflow target", map[string]any{"mlflow": "logs", "run_id": "r-1"}, nil, false, `target "logs" is a http target`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv, _ := mlflowEvidence(t)
			if tt.fail != nil {
				tt.fail(srv)
			}
			item := map[string]any{"mlflow": "registry"}
			maps.Copy(item, tt.item)
			_, err := runSnapshot(t, f.env(HTTPOptions{}), SnapshotEvidenceParams{Items: []map[string]any{item}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if retryable := !appError(t, err).NonRetryable(); retryable != tt.retryable {
				t.Errorf("retryable = %v, want %v", retryable, tt.retryable)
			}
			if tt.name == "no such run" && !strings.Contains(err.Error(), `snapshot_evidence: reading MLflow run "r-9": target "registry": GET `+srv.URL) {
				t.Errorf("error %v does not say which run it was reading", err)
			}
		})
	}
}

// TestSnapshotEvidenceLargeS3Object keeps an object larger than any
// answer aisoar buffers, streamed from one bucket into an evidence store
// on another, and verifies it there.
func TestSnapshotEvidenceLargeS3Object(t *testing.T) {
	srv := s3test.New(t, []string{"training-data", "ai-evidence"})
	data := bytes.Repeat([]byte("poisoned row\n"), (maxAnswerBytes+1<<20)/13)
	srv.PutObject("training-data", "batches/big.jsonl", data)
	f := newEvidenceFixture(t, nil)
	f.targets["lake"] = s3Target(t, srv, "lake", "training-data")
	backend, err := EvidenceBucket(s3Target(t, srv, "evidence", "ai-evidence"))
	if err != nil {
		t.Fatal(err)
	}
	key := &attest.KeyFile{Path: filepath.Join(f.root, "bucket-key.pem")}
	f.store = evidence.New(evidence.Options{Backend: backend, Signer: key, Verifier: key})

	res, err := runSnapshot(t, f.env(HTTPOptions{}), SnapshotEvidenceParams{Items: []map[string]any{{"s3": "lake", "key": "batches/big.jsonl"}}})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := f.store.Lookup(context.Background(), "default-test-workflow-id", res.ManifestID)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	it := sealed.Manifest.Items[0]
	if it.SHA256 != hex.EncodeToString(sum[:]) || it.Size != int64(len(data)) || it.Size <= maxAnswerBytes {
		t.Errorf("item = %+v, want %d bytes with SHA-256 %x", it, len(data), sum)
	}
	if stored, _ := srv.Object("ai-evidence", "sha256/"+it.SHA256); !bytes.Equal(stored, data) {
		t.Errorf("the store holds %d bytes, want %d", len(stored), len(data))
	}
	report, err := f.store.Verify(context.Background(), "default-test-workflow-id")
	if err != nil || report.Err() != nil {
		t.Errorf("Verify: %v, %v", err, report.Err())
	}
}

func readEvidence(t *testing.T, store *evidence.Store, sha string) []byte {
	t.Helper()
	r, err := store.Open(context.Background(), sha)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
