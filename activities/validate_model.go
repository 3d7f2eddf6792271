package activities

import (
	"cmp"
	"context"
	"fmt"
	"net/http"

	"go.temporal.io/sdk/temporal"

	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/playbooks"
)

var validateModelSpec = playbooks.ActionSpec{
	Name: "validate_model",
	Doc: "Gates a rollout or rollback on an evaluation and fails the step when the score is below min_score. " +
		`aisoar POSTs {"model", "version", "suite", "mode"} as JSON to <evaluator target url>/evaluate and expects ` +
		`200 with {"score": <number>, "metrics": {...}}; other statuses fail the step (5xx, 408 and 429 are retried).`,
	Params: []playbooks.ParamSpec{
		{Name: "target", Type: playbooks.TypeString, Required: true, Doc: "name of an evaluator target in the config"},
		{Name: "model", Type: playbooks.TypeString, Required: true, Doc: "the model to evaluate, as the evaluator knows it"},
		{Name: "version", Type: playbooks.TypeString, Doc: "model version or revision, such as ${{ steps.rollback.output.version }}"},
		{Name: "suite", Type: playbooks.TypeString, Doc: "evaluation suite or dataset; the evaluator's default when empty"},
		{Name: "mode", Type: playbooks.TypeString, Doc: "canary scores live traffic the model serves, shadow replays traffic to it without serving; default canary", Enum: []string{"canary", "shadow"}},
		{Name: "min_score", Type: playbooks.TypeNumber, Required: true, Doc: "lowest passing score; below it the step fails"},
	},
}

// ValidateModelParams are the validate_model action's parameters.
type ValidateModelParams struct {
	Target   string  `json:"target"`
	Model    string  `json:"model"`
	Version  string  `json:"version"`
	Suite    string  `json:"suite"`
	Mode     string  `json:"mode"`
	MinScore float64 `json:"min_score"`
	DryRun
}

// ValidateModelResult is the validate_model action's output. A dry run
// evaluates nothing: Score is 0 and Passed false.
type ValidateModelResult struct {
	Score    float64        `json:"score"`
	MinScore float64        `json:"min_score"`
	Passed   bool           `json:"passed"`
	Metrics  map[string]any `json:"metrics"`
	Plan
}

// EvaluationRequest is what validate_model sends an evaluator: the body of
// POST <url>/evaluate. The request also carries the step's
// Idempotency-Key header, so an evaluator can answer a retry from its
// first run.
type EvaluationRequest struct {
	Model   string `json:"model"`
	Version string `json:"version,omitempty"`
	Suite   string `json:"suite,omitempty"`
	// Mode is "canary" or "shadow".
	Mode string `json:"mode"`
}

// EvaluationAnswer is the evaluator's 200 answer. Score is required;
// Metrics, any JSON object, is passed on to the step's output.
type EvaluationAnswer struct {
	Score   *float64       `json:"score"`
	Metrics map[string]any `json:"metrics"`
}

// validateModelAction asks evaluator targets to score models.
type validateModelAction struct {
	targets Targets
}

// Run evaluates the model and fails, not to be retried, when it scores
// below min_score: a retry would not change the model.
func (a *validateModelAction) Run(ctx context.Context, p ValidateModelParams) (ValidateModelResult, error) {
	t, err := a.targets.lookup("validate_model", p.Target, config.TargetEvaluator)
	if err != nil {
		return ValidateModelResult{}, err
	}
	if p.Model == "" {
		return ValidateModelResult{}, badParams("validate_model", "model is required: the model the evaluator scores")
	}
	mode := cmp.Or(p.Mode, "canary")
	if mode != "canary" && mode != "shadow" {
		return ValidateModelResult{}, badParams("validate_model", "mode must be canary or shadow, not %q", p.Mode)
	}
	c := t.call("validate_model", p.DryRun.DryRun)
	req := EvaluationRequest{Model: p.Model, Version: p.Version, Suite: p.Suite, Mode: mode}
	var ans EvaluationAnswer
	if err := c.do(ctx, http.MethodPost, "evaluate", req, &ans); err != nil {
		return ValidateModelResult{}, activityError(err)
	}
	res := ValidateModelResult{MinScore: p.MinScore, Metrics: ans.Metrics, Plan: c.plan()}
	if c.dryRun {
		return res, nil
	}
	if ans.Score == nil {
		return ValidateModelResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("validate_model: evaluator %q answered without a score; it must answer {\"score\": <number>, \"metrics\": {...}}", t.Name), "BadAnswer", nil)
	}
	res.Score = *ans.Score
	res.Passed = res.Score >= p.MinScore
	if !res.Passed {
		return ValidateModelResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("validate_model: %s scored %g on %s, below min_score %g", describeEvaluation(req), res.Score, cmp.Or(p.Suite, "the default suite"), p.MinScore),
			"BelowMinScore", nil, res)
	}
	return res, nil
}

// describeEvaluation names what was evaluated, for messages.
func describeEvaluation(r EvaluationRequest) string {
	s := "model " + r.Model
	if r.Version != "" {
		s += " version " + r.Version
	}
	return s + " (" + r.Mode + ")"
}
