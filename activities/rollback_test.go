package activities

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/aisoar/aisoar/internal/kservetest"
	"github.com/aisoar/aisoar/internal/mlflowtest"
)

const (
	rollbackMLflowUser     = "aisoar"
	rollbackMLflowPassword = "mlflow-password"
	rollbackKServeToken    = "service-account-token"
)

// rollbackEnv is one incident run: each action executed in it is another
// step (another activity id), while a fresh environment replays the same
// step, as Temporal does when it retries an activity.
func rollbackEnv(targets Targets) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions((&rollbackAction{targets: targets}).Run, activity.RegisterOptions{Name: "rollback"})
	return env
}

func runRollback(t *testing.T, env *testsuite.TestActivityEnvironment, p RollbackParams) (RollbackResult, error) {
	t.Helper()
	val, err := env.ExecuteActivity("rollback", p)
	if err != nil {
		return RollbackResult{}, err
	}
	var res RollbackResult
	if err := val.Get(&res); err != nil {
		t.Fatalf("decoding the rollback result: %v", err)
	}
	return res, nil
}

func rollbackTarget(t *testing.T, name, kind, rawURL string, auth TargetAuth) *Target {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return &Target{Name: name, Kind: kind, URL: u, Namespace: "models", Auth: auth, Client: &http.Client{Timeout: 2 * time.Second}}
}

// newMLflowRollback starts an MLflow double holding model "fraud" with
// versions 1 to 4, champion on 4 and last-known-good on 3.
func newMLflowRollback(t *testing.T) (*mlflowtest.Server, Targets) {
	srv := mlflowtest.New(t, rollbackMLflowUser, rollbackMLflowPassword)
	srv.AddModel("fraud", "1", "2", "3", "4")
	srv.SetAlias("fraud", "champion", "4")
	srv.SetAlias("fraud", "last-known-good", "3")
	auth := TargetAuth{Username: rollbackMLflowUser, Secret: staticSecret(rollbackMLflowPassword)}
	return srv, Targets{"registry": rollbackTarget(t, "registry", "mlflow", srv.URL, auth)}
}

// rollbackTag returns the one rollback record tag on the model.
func rollbackTag(t *testing.T, srv *mlflowtest.Server) (key string, rec map[string]any) {
	t.Helper()
	tags := srv.Tags("fraud")
	if len(tags) != 1 {
		t.Fatalf("model has tags %v, want one rollback record", tags)
	}
	for k, v := range tags {
		if !strings.HasPrefix(k, "aisoar.rollback.") || len(k) != len("aisoar.rollback.")+16 {
			t.Errorf("tag key %q, want aisoar.rollback.<16 hex digits>", k)
		}
		if err := json.Unmarshal([]byte(v), &rec); err != nil {
			t.Fatalf("tag %s = %q is not JSON: %v", k, v, err)
		}
		key = k
	}
	return key, rec
}

// mlflowReq is a request as the double records it, for comparison.
type mlflowReq struct {
	Method, Path string
	Query        url.Values
	Body         map[string]any
}

func mlflowRequests(srv *mlflowtest.Server) []mlflowReq {
	var out []mlflowReq
	for _, r := range srv.Requests() {
		q := r.Query
		if len(q) == 0 {
			q = nil
		}
		out = append(out, mlflowReq{r.Method, r.Path, q, r.Body})
	}
	return out
}

func TestRollbackMLflow(t *testing.T) {
	api := mlflowtest.API
	getModel := mlflowReq{"GET", api + "registered-models/get", url.Values{"name": {"fraud"}}, nil}
	tests := []struct {
		name        string
		params      RollbackParams
		alias       string // the serving alias
		wantVersion string
		// extra is sent between reading the model and writing the tag.
		extra []mlflowReq
	}{
		{
			name:        "to the version last-known-good marks",
			params:      RollbackParams{Target: "registry", Model: "fraud"},
			alias:       "champion",
			wantVersion: "3",
		},
		{
			name:        "to an explicit version, checked first",
			params:      RollbackParams{Target: "registry", Model: "fraud", ToVersion: "2"},
			alias:       "champion",
			wantVersion: "2",
			extra:       []mlflowReq{{"GET", api + "model-versions/get", url.Values{"name": {"fraud"}, "version": {"2"}}, nil}},
		},
		{
			name:        "with other alias names",
			params:      RollbackParams{Target: "registry", Model: "fraud", ServingAlias: "prod", GoodAlias: "stable"},
			alias:       "prod",
			wantVersion: "1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, targets := newMLflowRollback(t)
			srv.SetAlias("fraud", "prod", "4")
			srv.SetAlias("fraud", "stable", "1")
			res, err := runRollback(t, rollbackEnv(targets), tt.params)
			if err != nil {
				t.Fatalf("rollback: %v", err)
			}
			want := RollbackResult{Model: "fraud", PreviousVersion: "4", Version: tt.wantVersion, Changed: true, Restore: map[string]any{"version": "4"}}
			if !reflect.DeepEqual(res, want) {
				t.Errorf("result = %+v, want %+v", res, want)
			}
			if got := srv.Alias("fraud", tt.alias); got != tt.wantVersion {
				t.Errorf("alias %s = %q, want %q", tt.alias, got, tt.wantVersion)
			}
			key, rec := rollbackTag(t, srv)
			wantRec := map[string]any{"from": "4", "to": tt.wantVersion, "restore": map[string]any{"version": "4"}}
			if !reflect.DeepEqual(rec, wantRec) {
				t.Errorf("tag record = %v, want %v", rec, wantRec)
			}
			wantReqs := append([]mlflowReq{getModel}, tt.extra...)
			wantReqs = append(wantReqs,
				mlflowReq{"POST", api + "registered-models/set-tag", nil, map[string]any{"name": "fraud", "key": key, "value": srv.Tags("fraud")[key]}},
				mlflowReq{"POST", api + "registered-models/alias", nil, map[string]any{"name": "fraud", "alias": tt.alias, "version": tt.wantVersion}},
			)
			if got := mlflowRequests(srv); !reflect.DeepEqual(got, wantReqs) {
				t.Errorf("requests:\n got %+v\nwant %+v", got, wantReqs)
			}
		})
	}
}

// TestRollbackMLflowRerun replays the step after its answer was lost, and
// after it stopped between recording and moving the alias: either way the
// previous version is the one before the rollback, not the one it set.
func TestRollbackMLflowRerun(t *testing.T) {
	want := RollbackResult{Model: "fraud", PreviousVersion: "4", Version: "3", Changed: true, Restore: map[string]any{"version": "4"}}
	p := RollbackParams{Target: "registry", Model: "fraud"}

	t.Run("answer lost", func(t *testing.T) {
		srv, targets := newMLflowRollback(t)
		first, err := runRollback(t, rollbackEnv(targets), p)
		if err != nil {
			t.Fatalf("first run: %v", err)
		}
		n := len(srv.Requests())
		second, err := runRollback(t, rollbackEnv(targets), p)
		if err != nil {
			t.Fatalf("re-run: %v", err)
		}
		if !reflect.DeepEqual(first, want) || !reflect.DeepEqual(second, want) {
			t.Errorf("results = %+v and %+v, want both %+v", first, second, want)
		}
		if got := mlflowRequests(srv)[n:]; len(got) != 1 || got[0].Method != "GET" {
			t.Errorf("re-run sent %+v, want only the read", got)
		}
		rollbackTag(t, srv)
	})

	t.Run("stopped before moving the alias", func(t *testing.T) {
		srv, targets := newMLflowRollback(t)
		srv.FailNext("POST", mlflowtest.API+"registered-models/alias", http.StatusServiceUnavailable, 1)
		if _, err := runRollback(t, rollbackEnv(targets), p); err == nil || appError(t, err).NonRetryable() {
			t.Fatalf("first run: error %v, want a retryable one", err)
		}
		n := len(srv.Requests())
		res, err := runRollback(t, rollbackEnv(targets), p)
		if err != nil {
			t.Fatalf("re-run: %v", err)
		}
		if !reflect.DeepEqual(res, want) {
			t.Errorf("result = %+v, want %+v", res, want)
		}
		got := mlflowRequests(srv)[n:]
		if len(got) != 2 || got[1].Path != mlflowtest.API+"registered-models/alias" {
			t.Errorf("re-run sent %+v, want the read and the alias, no second tag", got)
		}
		if v := srv.Alias("fraud", "champion"); v != "3" {
			t.Errorf("champion = %q, want 3", v)
		}
		rollbackTag(t, srv)
	})
}

func TestRollbackMLflowAlreadyGood(t *testing.T) {
	srv, targets := newMLflowRollback(t)
	srv.SetAlias("fraud", "champion", "3")
	res, err := runRollback(t, rollbackEnv(targets), RollbackParams{Target: "registry", Model: "fraud"})
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	want := RollbackResult{Model: "fraud", PreviousVersion: "3", Version: "3", Changed: false, Restore: map[string]any{"version": "3"}}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("result = %+v, want %+v", res, want)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("sent %d requests, want only the read", n)
	}
}

// TestRollbackMLflowUndo runs the rollback and its undo as two steps of
// one incident, the undo taking the rollback's output.restore.
func TestRollbackMLflowUndo(t *testing.T) {
	srv, targets := newMLflowRollback(t)
	env := rollbackEnv(targets)
	res, err := runRollback(t, env, RollbackParams{Target: "registry", Model: "fraud"})
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	undo, err := runRollback(t, env, RollbackParams{Target: "registry", Model: "fraud", Restore: res.Restore})
	if err != nil {
		t.Fatalf("undo: %v", err)
	}
	if v := srv.Alias("fraud", "champion"); v != "4" {
		t.Errorf("champion after undo = %q, want 4", v)
	}
	want := RollbackResult{Model: "fraud", PreviousVersion: "3", Version: "4", Changed: true, Restore: map[string]any{"version": "3"}}
	if !reflect.DeepEqual(undo, want) {
		t.Errorf("undo result = %+v, want %+v", undo, want)
	}
	if n := len(srv.Tags("fraud")); n != 2 {
		t.Errorf("model has %d rollback records, want one per step", n)
	}
}

func TestRollbackMLflowDryRun(t *testing.T) {
	srv, targets := newMLflowRollback(t)
	res, err := runRollback(t, rollbackEnv(targets), RollbackParams{Target: "registry", Model: "fraud model", DryRun: DryRun{true}})
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("dry run sent %d requests, want none", n)
	}
	if !res.DryRun || len(res.Planned) != 3 {
		t.Fatalf("plan = %+v, want 3 planned requests", res.Plan)
	}
	base := srv.URL + mlflowtest.API
	if p := res.Planned[0]; p.Method != "GET" || p.URL != base+"registered-models/get?name=fraud+model" {
		t.Errorf("planned[0] = %+v, want the read of the model", p)
	}
	tag, _ := res.Planned[1].Body.(map[string]any)
	if p := res.Planned[1]; p.Method != "POST" || p.URL != base+"registered-models/set-tag" ||
		!strings.HasPrefix(tag["key"].(string), "aisoar.rollback.") || !strings.Contains(tag["value"].(string), "<version alias champion points to>") {
		t.Errorf("planned[1] = %+v, want the record tag", p)
	}
	wantAlias := PlannedRequest{Method: "POST", URL: base + "registered-models/alias",
		Body: map[string]any{"name": "fraud model", "alias": "champion", "version": "<version alias last-known-good points to>"}}
	if !reflect.DeepEqual(res.Planned[2], wantAlias) {
		t.Errorf("planned[2] = %+v, want %+v", res.Planned[2], wantAlias)
	}
}

func TestRollbackMLflowErrors(t *testing.T) {
	api := mlflowtest.API
	tests := []struct {
		name      string
		params    RollbackParams
		setup     func(*mlflowtest.Server, *Target)
		retryable bool
		wantMsg   []string
	}{
		{
			name:    "unknown model",
			params:  RollbackParams{Target: "registry", Model: "ghost"},
			wantMsg: []string{"404", "RESOURCE_DOES_NOT_EXIST", "Registered Model with name=ghost not found"},
		},
		{
			name:    "unknown version",
			params:  RollbackParams{Target: "registry", Model: "fraud", ToVersion: "9"},
			wantMsg: []string{"404", "Model Version (name=fraud, version=9) not found"},
		},
		{
			name:    "no good alias",
			params:  RollbackParams{Target: "registry", Model: "fraud", GoodAlias: "blessed"},
			wantMsg: []string{`no alias "blessed"`, "to_version"},
		},
		{
			name:    "no serving alias",
			params:  RollbackParams{Target: "registry", Model: "fraud", ServingAlias: "prod"},
			wantMsg: []string{`no alias "prod"`, "serving_alias"},
		},
		{
			name:    "wrong password",
			params:  RollbackParams{Target: "registry", Model: "fraud"},
			setup:   func(_ *mlflowtest.Server, t *Target) { t.Auth.Secret = staticSecret("wrong") },
			wantMsg: []string{"401", "not authenticated"},
		},
		{
			name:    "restore from another kind of target",
			params:  RollbackParams{Target: "registry", Model: "fraud", Restore: map[string]any{"canary_traffic_percent": 10}},
			wantMsg: []string{"restore must be", "mlflow"},
		},
		{
			name:    "namespace",
			params:  RollbackParams{Target: "registry", Model: "fraud", Namespace: "models"},
			wantMsg: []string{"namespace applies to kserve targets"},
		},
		{
			name:    "unknown target",
			params:  RollbackParams{Target: "mlflow", Model: "fraud"},
			wantMsg: []string{`no target "mlflow"`, "registry"},
		},
		{
			name:      "server error",
			params:    RollbackParams{Target: "registry", Model: "fraud"},
			setup:     func(s *mlflowtest.Server, _ *Target) { s.FailNext("GET", api+"registered-models/get", 503, 1) },
			retryable: true,
			wantMsg:   []string{"503"},
		},
		{
			name:   "timeout",
			params: RollbackParams{Target: "registry", Model: "fraud"},
			setup: func(s *mlflowtest.Server, t *Target) {
				s.HangNext("POST", api+"registered-models/set-tag", 1)
				t.Client.Timeout = 100 * time.Millisecond
			},
			retryable: true,
			wantMsg:   []string{"set-tag"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, targets := newMLflowRollback(t)
			if tt.setup != nil {
				tt.setup(srv, targets["registry"])
			}
			_, err := runRollback(t, rollbackEnv(targets), tt.params)
			assertActionError(t, err, tt.retryable, tt.wantMsg)
			if v := srv.Alias("fraud", "champion"); v != "4" {
				t.Errorf("champion = %q after a failed rollback, want 4", v)
			}
			if !tt.retryable && len(srv.Tags("fraud")) != 0 {
				t.Errorf("a failed rollback left tags %v", srv.Tags("fraud"))
			}
		})
	}
}

// assertActionError checks err's retryability and that its message says
// what went wrong.
func assertActionError(t *testing.T, err error, retryable bool, wantMsg []string) {
	t.Helper()
	if err == nil {
		t.Fatal("succeeded, want an error")
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() == retryable {
		t.Errorf("error %v: NonRetryable() = %t, want %t", err, appErr.NonRetryable(), !retryable)
	}
	if !retryable && appErr == nil {
		t.Errorf("error %v (%T) is retryable, want non-retryable", err, err)
	}
	for _, part := range wantMsg {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not mention %q", err, part)
		}
	}
}

// kserveISVC is InferenceService models/fraud as KServe reports it; a nil
// canary leaves canaryTrafficPercent out.
func kserveISVC(canary any, ready, rolled, previous string) map[string]any {
	predictor := map[string]any{"model": map[string]any{"modelFormat": map[string]any{"name": "sklearn"}, "storageUri": "gs://models/fraud/v3"}}
	if canary != nil {
		predictor["canaryTrafficPercent"] = canary
	}
	return map[string]any{
		"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
		"metadata": map[string]any{"name": "fraud", "namespace": "models"},
		"spec":     map[string]any{"predictor": predictor},
		"status": map[string]any{"components": map[string]any{"predictor": map[string]any{
			"latestCreatedRevision": ready, "latestReadyRevision": ready,
			"latestRolledoutRevision": rolled, "previousRolledoutRevision": previous,
		}}},
	}
}

func newKServeRollback(t *testing.T, isvc map[string]any) (*kservetest.Server, Targets) {
	srv := kservetest.New(t, rollbackKServeToken)
	srv.Put(isvc)
	auth := TargetAuth{Header: "Authorization", Scheme: "Bearer", Secret: staticSecret(rollbackKServeToken)}
	return srv, Targets{"serving": rollbackTarget(t, "serving", "kserve", srv.URL, auth)}
}

// kserveTraffic returns the predictor's traffic split by revision.
func kserveTraffic(srv *kservetest.Server) map[string]float64 {
	obj := srv.Get("models", "fraud")
	pred := obj["status"].(map[string]any)["components"].(map[string]any)["predictor"].(map[string]any)
	out := map[string]float64{}
	for _, tr := range pred["traffic"].([]any) {
		tr := tr.(map[string]any)
		out[tr["revisionName"].(string)] = tr["percent"].(float64)
	}
	return out
}

func kserveCanary(srv *kservetest.Server) (any, bool) {
	pred := srv.Get("models", "fraud")["spec"].(map[string]any)["predictor"].(map[string]any)
	v, ok := pred["canaryTrafficPercent"]
	return v, ok
}

func TestRollbackKServe(t *testing.T) {
	tests := []struct {
		name        string
		isvc        map[string]any
		wantResult  RollbackResult
		wantTraffic map[string]float64
	}{
		{
			name:        "canary in progress",
			isvc:        kserveISVC(10, "fraud-predictor-00003", "fraud-predictor-00002", "fraud-predictor-00001"),
			wantResult:  RollbackResult{Model: "fraud", PreviousVersion: "fraud-predictor-00003", Version: "fraud-predictor-00002", Changed: true, Restore: map[string]any{"canary_traffic_percent": float64(10)}},
			wantTraffic: map[string]float64{"fraud-predictor-00003": 0, "fraud-predictor-00002": 100},
		},
		{
			name:        "latest revision fully rolled out",
			isvc:        kserveISVC(nil, "fraud-predictor-00003", "fraud-predictor-00003", "fraud-predictor-00002"),
			wantResult:  RollbackResult{Model: "fraud", PreviousVersion: "fraud-predictor-00003", Version: "fraud-predictor-00002", Changed: true, Restore: map[string]any{"canary_traffic_percent": nil}},
			wantTraffic: map[string]float64{"fraud-predictor-00003": 0, "fraud-predictor-00002": 100},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, targets := newKServeRollback(t, tt.isvc)
			res, err := runRollback(t, rollbackEnv(targets), RollbackParams{Target: "serving", Model: "fraud"})
			if err != nil {
				t.Fatalf("rollback: %v", err)
			}
			if !reflect.DeepEqual(res, tt.wantResult) {
				t.Errorf("result = %+v, want %+v", res, tt.wantResult)
			}
			if got := kserveTraffic(srv); !reflect.DeepEqual(got, tt.wantTraffic) {
				t.Errorf("traffic = %v, want %v", got, tt.wantTraffic)
			}

			record := srv.Annotations("models", "fraud")["aisoar.io/rollback"]
			var rec map[string]any
			if err := json.Unmarshal([]byte(record), &rec); err != nil {
				t.Fatalf("annotation aisoar.io/rollback = %q: %v", record, err)
			}
			if step, _ := rec["step"].(string); len(step) != 16 {
				t.Errorf("record step = %q, want 16 hex digits", rec["step"])
			}
			if rec["from"] != tt.wantResult.PreviousVersion || rec["to"] != tt.wantResult.Version || !reflect.DeepEqual(rec["restore"], tt.wantResult.Restore) {
				t.Errorf("record = %v, want the result's versions and restore", rec)
			}

			reqs := srv.Requests()
			path := kservetest.Path("models", "fraud")
			if len(reqs) != 2 || reqs[0].Method != "GET" || reqs[0].Path != path {
				t.Fatalf("requests = %+v, want GET then PATCH of %s", reqs, path)
			}
			patch := reqs[1]
			wantBody := map[string]any{
				"metadata": map[string]any{"resourceVersion": "1", "annotations": map[string]any{"aisoar.io/rollback": record}},
				"spec":     map[string]any{"predictor": map[string]any{"canaryTrafficPercent": float64(0)}},
			}
			if patch.Method != "PATCH" || patch.Path != path || patch.Header.Get("Content-Type") != "application/merge-patch+json" || !reflect.DeepEqual(patch.Body, wantBody) {
				t.Errorf("patch = %+v, want merge patch %v", patch, wantBody)
			}
		})
	}
}

func TestRollbackKServeRerun(t *testing.T) {
	srv, targets := newKServeRollback(t, kserveISVC(10, "fraud-predictor-00003", "fraud-predictor-00002", "fraud-predictor-00001"))
	p := RollbackParams{Target: "serving", Model: "fraud"}
	first, err := runRollback(t, rollbackEnv(targets), p)
	if err != nil {
		t.Fatalf("first run: %v", err)
	}
	second, err := runRollback(t, rollbackEnv(targets), p)
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if !reflect.DeepEqual(first, second) {
		t.Errorf("re-run result = %+v, want the first run's %+v", second, first)
	}
	if second.Restore["canary_traffic_percent"] != float64(10) {
		t.Errorf("re-run restore = %v, want the canary share before the rollback (10)", second.Restore)
	}
	if reqs := srv.Requests(); len(reqs) != 3 || reqs[2].Method != "GET" {
		t.Errorf("requests = %+v, want the re-run to only read", reqs)
	}
}

func TestRollbackKServeUndo(t *testing.T) {
	tests := []struct {
		name   string
		canary any // before the rollback
		isvc   map[string]any
	}{
		{"canary share comes back", 10, kserveISVC(10, "fraud-predictor-00003", "fraud-predictor-00002", "fraud-predictor-00001")},
		{"canaryTrafficPercent is removed again", nil, kserveISVC(nil, "fraud-predictor-00003", "fraud-predictor-00003", "fraud-predictor-00002")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, targets := newKServeRollback(t, tt.isvc)
			before := kserveTraffic(srv)
			env := rollbackEnv(targets)
			res, err := runRollback(t, env, RollbackParams{Target: "serving", Model: "fraud"})
			if err != nil {
				t.Fatalf("rollback: %v", err)
			}
			undo, err := runRollback(t, env, RollbackParams{Target: "serving", Model: "fraud", Restore: res.Restore})
			if err != nil {
				t.Fatalf("undo: %v", err)
			}
			got, present := kserveCanary(srv)
			if tt.canary == nil && present {
				t.Errorf("canaryTrafficPercent = %v after undo, want it removed", got)
			}
			if tt.canary != nil && got != float64(10) {
				t.Errorf("canaryTrafficPercent = %v after undo, want 10", got)
			}
			if after := kserveTraffic(srv); !reflect.DeepEqual(after, before) {
				t.Errorf("traffic after undo = %v, want as before the rollback %v", after, before)
			}
			if !undo.Changed || undo.Version != "fraud-predictor-00003" || undo.Restore["canary_traffic_percent"] != float64(0) {
				t.Errorf("undo result = %+v, want the latest revision back and restore 0", undo)
			}
		})
	}
}

func TestRollbackKServeDryRun(t *testing.T) {
	srv, targets := newKServeRollback(t, kserveISVC(10, "fraud-predictor-00003", "fraud-predictor-00002", "fraud-predictor-00001"))
	res, err := runRollback(t, rollbackEnv(targets), RollbackParams{Target: "serving", Model: "fraud", Namespace: "prod", DryRun: DryRun{true}})
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("dry run sent %d requests, want none", n)
	}
	isvcURL := srv.URL + kservetest.Path("prod", "fraud")
	if !res.DryRun || len(res.Planned) != 2 || res.Planned[0] != (PlannedRequest{Method: "GET", URL: isvcURL}) {
		t.Fatalf("plan = %+v, want the read and the patch of %s", res.Plan, isvcURL)
	}
	patch := res.Planned[1]
	body, _ := json.Marshal(patch.Body)
	if patch.Method != "PATCH" || patch.URL != isvcURL ||
		!strings.Contains(string(body), `"spec":{"predictor":{"canaryTrafficPercent":0}}`) ||
		!strings.Contains(string(body), "previous rolled-out revision of fraud") {
		t.Errorf("planned patch = %+v (%s), want canaryTrafficPercent 0 and the record", patch, body)
	}
	if res.Version != "<previous rolled-out revision of fraud>" {
		t.Errorf("dry run version = %q, want a placeholder", res.Version)
	}
}

func TestRollbackKServeErrors(t *testing.T) {
	canary := kserveISVC(10, "fraud-predictor-00003", "fraud-predictor-00002", "fraud-predictor-00001")
	tests := []struct {
		name      string
		isvc      map[string]any
		params    RollbackParams
		setup     func(*kservetest.Server, *Target)
		retryable bool
		wantMsg   []string
	}{
		{
			name:    "unknown InferenceService",
			isvc:    canary,
			params:  RollbackParams{Target: "serving", Model: "ghost"},
			wantMsg: []string{"404", `inferenceservices.serving.kserve.io \"ghost\" not found`},
		},
		{
			name:    "bad token",
			isvc:    canary,
			params:  RollbackParams{Target: "serving", Model: "fraud"},
			setup:   func(_ *kservetest.Server, t *Target) { t.Auth.Secret = staticSecret("expired") },
			wantMsg: []string{"401", "Unauthorized"},
		},
		{
			name:    "a single revision",
			isvc:    kserveISVC(nil, "fraud-predictor-00001", "fraud-predictor-00001", ""),
			params:  RollbackParams{Target: "serving", Model: "fraud"},
			wantMsg: []string{"no earlier rolled-out predictor revision", "fraud-predictor-00001"},
		},
		{
			name: "raw deployment mode",
			isvc: func() map[string]any {
				o := kserveISVC(10, "fraud-predictor-00003", "fraud-predictor-00002", "fraud-predictor-00001")
				o["metadata"].(map[string]any)["annotations"] = map[string]any{"serving.kserve.io/deploymentMode": "RawDeployment"}
				return o
			}(),
			params:  RollbackParams{Target: "serving", Model: "fraud"},
			wantMsg: []string{"RawDeployment", "Knative"},
		},
		{
			name:    "mlflow parameters",
			isvc:    canary,
			params:  RollbackParams{Target: "serving", Model: "fraud", ToVersion: "3"},
			wantMsg: []string{"apply to mlflow targets"},
		},
		{
			name:    "bad restore",
			isvc:    canary,
			params:  RollbackParams{Target: "serving", Model: "fraud", Restore: map[string]any{"canary_traffic_percent": 150}},
			wantMsg: []string{"0 to 100", "150"},
		},
		{
			name:    "bad name",
			isvc:    canary,
			params:  RollbackParams{Target: "serving", Model: "../secrets"},
			wantMsg: []string{"not an InferenceService name"},
		},
		{
			name:      "changed since read",
			isvc:      canary,
			params:    RollbackParams{Target: "serving", Model: "fraud"},
			setup:     func(s *kservetest.Server, _ *Target) { s.FailNext("PATCH", http.StatusConflict, 1) },
			retryable: true,
			wantMsg:   []string{"409"},
		},
		{
			name:      "server error",
			isvc:      canary,
			params:    RollbackParams{Target: "serving", Model: "fraud"},
			setup:     func(s *kservetest.Server, _ *Target) { s.FailNext("GET", http.StatusInternalServerError, 1) },
			retryable: true,
			wantMsg:   []string{"500"},
		},
		{
			name:   "timeout",
			isvc:   canary,
			params: RollbackParams{Target: "serving", Model: "fraud"},
			setup: func(s *kservetest.Server, t *Target) {
				s.HangNext("PATCH", 1)
				t.Client.Timeout = 100 * time.Millisecond
			},
			retryable: true,
			wantMsg:   []string{"PATCH"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, targets := newKServeRollback(t, tt.isvc)
			if tt.setup != nil {
				tt.setup(srv, targets["serving"])
			}
			before := kserveTraffic(srv)
			_, err := runRollback(t, rollbackEnv(targets), tt.params)
			assertActionError(t, err, tt.retryable, tt.wantMsg)
			if after := kserveTraffic(srv); !reflect.DeepEqual(after, before) {
				t.Errorf("traffic = %v after a failed rollback, want unchanged %v", after, before)
			}
		})
	}
}
