package activities

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
)

// The evaluator contract is aisoar's own (EvaluationRequest and
// EvaluationAnswer), so these tests answer with a plain test server
// rather than a double of a third-party API.

const validateModelToken = "evaluator-token"

func runValidateModel(t *testing.T, tg *target, p ValidateModelParams, configure func(*Target)) (ValidateModelResult, error) {
	t.Helper()
	evaluator := rollbackTarget(t, "evals", "evaluator", tg.URL+"/v1", TargetAuth{Header: "Authorization", Scheme: "Bearer", Secret: staticSecret(validateModelToken)})
	if configure != nil {
		configure(evaluator)
	}
	targets := Targets{"evals": evaluator, "registry": rollbackTarget(t, "registry", "mlflow", tg.URL, TargetAuth{})}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions((&validateModelAction{targets: targets}).Run, activity.RegisterOptions{Name: "validate_model"})
	val, err := env.ExecuteActivity("validate_model", p)
	if err != nil {
		return ValidateModelResult{}, err
	}
	var res ValidateModelResult
	if err := val.Get(&res); err != nil {
		t.Fatalf("decoding the validate_model result: %v", err)
	}
	return res, nil
}

func TestValidateModelPasses(t *testing.T) {
	tg := newTarget(t, answer(http.StatusOK, "application/json", `{"score": 0.93, "metrics": {"accuracy": 0.95, "toxicity": 0.01}}`))
	p := ValidateModelParams{Target: "evals", Model: "fraud", Version: "3", Suite: "golden-v2", MinScore: 0.9}
	res, err := runValidateModel(t, tg, p, nil)
	if err != nil {
		t.Fatalf("validate_model: %v", err)
	}
	want := ValidateModelResult{Score: 0.93, MinScore: 0.9, Passed: true, Metrics: map[string]any{"accuracy": 0.95, "toxicity": 0.01}}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("result = %+v, want %+v", res, want)
	}
	reqs := tg.requests()
	if len(reqs) != 1 {
		t.Fatalf("evaluator received %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	var body map[string]any
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		t.Fatalf("request body %q: %v", r.Body, err)
	}
	wantBody := map[string]any{"model": "fraud", "version": "3", "suite": "golden-v2", "mode": "canary"}
	if r.Method != "POST" || r.Path != "/v1/evaluate" || !reflect.DeepEqual(body, wantBody) {
		t.Errorf("request = %s %s %v, want POST /v1/evaluate %v", r.Method, r.Path, body, wantBody)
	}
	for k, want := range map[string]string{"Authorization": "Bearer " + validateModelToken, "Content-Type": "application/json"} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if r.Header.Get("Idempotency-Key") == "" {
		t.Error("request has no Idempotency-Key")
	}
}

func TestValidateModelFails(t *testing.T) {
	slow := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	tests := []struct {
		name      string
		reply     http.HandlerFunc
		params    ValidateModelParams
		retryable bool
		wantType  string
		wantMsg   []string
	}{
		{
			name:     "below min_score",
			reply:    answer(http.StatusOK, "application/json", `{"score": 0.71, "metrics": {"accuracy": 0.7}}`),
			params:   ValidateModelParams{Target: "evals", Model: "fraud", Version: "4", Mode: "shadow", MinScore: 0.9},
			wantType: "BelowMinScore",
			wantMsg:  []string{"model fraud version 4 (shadow)", "scored 0.71", "the default suite", "min_score 0.9"},
		},
		{
			name:     "no score",
			reply:    answer(http.StatusOK, "application/json", `{"metrics": {}}`),
			params:   ValidateModelParams{Target: "evals", Model: "fraud", MinScore: 0.9},
			wantType: "BadAnswer",
			wantMsg:  []string{`evaluator "evals" answered without a score`},
		},
		{
			name:     "evaluator refuses",
			reply:    answer(http.StatusBadRequest, "application/json", `{"error": "unknown suite nightly"}`),
			params:   ValidateModelParams{Target: "evals", Model: "fraud", Suite: "nightly", MinScore: 0.9},
			wantType: "TargetStatus",
			wantMsg:  []string{"400", "unknown suite nightly"},
		},
		{
			name:     "not an evaluator",
			reply:    answer(http.StatusOK, "", ""),
			params:   ValidateModelParams{Target: "registry", Model: "fraud", MinScore: 0.9},
			wantType: "BadParams",
			wantMsg:  []string{`target "registry" is a mlflow target`},
		},
		{
			name:      "evaluator down",
			reply:     answer(http.StatusServiceUnavailable, "", "overloaded"),
			params:    ValidateModelParams{Target: "evals", Model: "fraud", MinScore: 0.9},
			retryable: true,
			wantMsg:   []string{"503", "overloaded"},
		},
		{
			name:      "timeout",
			reply:     slow,
			params:    ValidateModelParams{Target: "evals", Model: "fraud", MinScore: 0.9},
			retryable: true,
			wantMsg:   []string{"/v1/evaluate"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := newTarget(t, tt.reply)
			_, err := runValidateModel(t, tg, tt.params, func(t *Target) { t.Client.Timeout = 100 * time.Millisecond })
			assertActionError(t, err, tt.retryable, tt.wantMsg)
			if tt.wantType != "" {
				if got := appError(t, err).Type(); got != tt.wantType {
					t.Errorf("error type = %q, want %q", got, tt.wantType)
				}
			}
		})
	}
}

func TestValidateModelDryRun(t *testing.T) {
	tg := newTarget(t, answer(http.StatusOK, "application/json", `{"score": 1}`))
	res, err := runValidateModel(t, tg, ValidateModelParams{Target: "evals", Model: "fraud", MinScore: 0.9, DryRun: DryRun{true}}, nil)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if n := len(tg.requests()); n != 0 {
		t.Errorf("dry run sent %d requests, want none", n)
	}
	want := []PlannedRequest{{Method: "POST", URL: tg.URL + "/v1/evaluate", Body: map[string]any{"model": "fraud", "mode": "canary"}}}
	if !res.DryRun || !reflect.DeepEqual(res.Planned, want) || res.Passed {
		t.Errorf("result = %+v, want not passed and the plan %+v", res, want)
	}
}
