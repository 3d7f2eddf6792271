package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/playbooks"
)

var rollbackSpec = playbooks.ActionSpec{
	Name: "rollback",
	Doc: "Moves serving back to the last-known-good model: points an MLflow serving alias (such as champion) at the version " +
		"another alias marks good, or pins a KServe InferenceService's traffic to its previous rolled-out revision.",
	Params: []playbooks.ParamSpec{
		{Name: "target", Type: playbooks.TypeString, Required: true, Doc: "name of an mlflow or kserve target in the config"},
		{Name: "model", Type: playbooks.TypeString, Required: true, Doc: "MLflow registered model name, or KServe InferenceService name"},
		{Name: "serving_alias", Type: playbooks.TypeString, Doc: "mlflow: the alias serving loads (models:/<model>@<alias>); default champion"},
		{Name: "good_alias", Type: playbooks.TypeString, Doc: "mlflow: the alias marking the last-known-good version; default last-known-good"},
		{Name: "to_version", Type: playbooks.TypeString, Doc: "mlflow: roll back to this version instead of good_alias's"},
		{Name: "namespace", Type: playbooks.TypeString, Doc: "kserve: the InferenceService's namespace; default the target's namespace"},
		{Name: "restore", Type: playbooks.TypeMap, Doc: "for undo: the step's output.restore, which puts back what the rollback replaced: " +
			`undo: {action: rollback, with: {target: <same>, model: <same>, restore: "${{ steps.<id>.output.restore }}"}}`},
	},
}

// RollbackParams are the rollback action's parameters.
type RollbackParams struct {
	Target       string `json:"target"`
	Model        string `json:"model"`
	ServingAlias string `json:"serving_alias"`
	GoodAlias    string `json:"good_alias"`
	ToVersion    string `json:"to_version"`
	Namespace    string `json:"namespace"`
	// Restore is a rollback's RollbackResult.Restore, passed back by undo:
	// {"version": "3"} for MLflow, {"canary_traffic_percent": 10} (or
	// null, for none) for KServe.
	Restore map[string]any `json:"restore"`
	DryRun
}

// RollbackResult is the rollback action's output.
type RollbackResult struct {
	Model string `json:"model"`
	// PreviousVersion is what served before: the MLflow version the
	// serving alias pointed to, or the KServe revision that was latest.
	PreviousVersion string `json:"previous_version"`
	// Version is what serves now: the MLflow version, or the KServe
	// revision that has the traffic.
	Version string `json:"version"`
	// Changed is false when serving was already where the step wanted it.
	Changed bool `json:"changed"`
	// Restore is the state the rollback replaced, in the form the restore
	// parameter takes.
	Restore map[string]any `json:"restore"`
	Plan
}

// rollbackAction drives the rollback action's targets.
type rollbackAction struct {
	targets Targets
}

// Run rolls serving back on the named target.
func (a *rollbackAction) Run(ctx context.Context, p RollbackParams) (RollbackResult, error) {
	t, err := a.targets.lookup("rollback", p.Target, config.TargetMLflow, config.TargetKServe)
	if err != nil {
		return RollbackResult{}, err
	}
	if p.Model == "" {
		return RollbackResult{}, badParams("rollback", "model is required: the MLflow registered model or KServe InferenceService to roll back")
	}
	if p.Restore != nil && p.ToVersion != "" {
		return RollbackResult{}, badParams("rollback", "give restore (to undo a rollback) or to_version, not both")
	}
	c := t.call("rollback", p.DryRun.DryRun)
	var res RollbackResult
	if t.Kind == config.TargetMLflow {
		if p.Namespace != "" {
			return RollbackResult{}, badParams("rollback", "namespace applies to kserve targets; %q is an mlflow target", t.Name)
		}
		res, err = rollbackMLflow(ctx, c, p)
	} else {
		if p.ServingAlias != "" || p.GoodAlias != "" || p.ToVersion != "" {
			return RollbackResult{}, badParams("rollback", "serving_alias, good_alias and to_version apply to mlflow targets; %q is a kserve target, which rolls back to its previous rolled-out revision", t.Name)
		}
		res, err = rollbackKServe(ctx, c, p)
	}
	if err != nil {
		return RollbackResult{}, activityError(err)
	}
	res.Model = p.Model
	res.Plan = c.plan()
	return res, nil
}

// rollbackRecord is what a rollback writes on the target together with, or
// before, its change: a re-run of the same step (a lost answer, a crashed
// worker) finds it and returns the state it replaced, instead of reading
// back its own change as "previous".
type rollbackRecord struct {
	// Step is stepMark of the step that wrote the record, where the
	// place it is kept does not name it already.
	Step    string         `json:"step,omitempty"`
	From    string         `json:"from"`
	To      string         `json:"to"`
	Restore map[string]any `json:"restore"`
}

// result is the action's output for the record.
func (r rollbackRecord) result(changed bool) RollbackResult {
	return RollbackResult{PreviousVersion: r.From, Version: r.To, Changed: changed, Restore: r.Restore}
}

// encode is the record as the text of a tag or annotation.
func (r rollbackRecord) encode() string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep a dry run's <placeholders> readable
	_ = enc.Encode(r)
	return strings.TrimSuffix(b.String(), "\n")
}

// decodeRollbackRecord reads a record written by encode; where names the
// tag or annotation, for the error.
func decodeRollbackRecord(text, where string) (rollbackRecord, error) {
	var r rollbackRecord
	if err := json.Unmarshal([]byte(text), &r); err != nil {
		return r, badParams("rollback", "%s holds %q, which is not a record aisoar wrote; remove it and run the step again", where, text)
	}
	return r, nil
}

// rollbackPlaceholder stands in a dry run's plan for a value only a read would give.
func rollbackPlaceholder(format string, args ...any) string {
	return "<" + fmt.Sprintf(format, args...) + ">"
}
