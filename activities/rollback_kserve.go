package activities

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"
)

// rollbackKServeAnnotation holds the record of the last rollback on an
// InferenceService.
const rollbackKServeAnnotation = "aisoar.io/rollback"

// rollbackKServeISVC is the part of a KServe InferenceService a rollback
// reads.
type rollbackKServeISVC struct {
	Metadata struct {
		ResourceVersion string            `json:"resourceVersion"`
		Annotations     map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		Predictor struct {
			CanaryTrafficPercent *int64 `json:"canaryTrafficPercent"`
		} `json:"predictor"`
	} `json:"spec"`
	Status struct {
		DeploymentMode string `json:"deploymentMode"`
		Components     struct {
			Predictor struct {
				LatestReadyRevision       string `json:"latestReadyRevision"`
				LatestRolledoutRevision   string `json:"latestRolledoutRevision"`
				PreviousRolledoutRevision string `json:"previousRolledoutRevision"`
			} `json:"predictor"`
		} `json:"components"`
	} `json:"status"`
}

// rollbackKServeName is a Kubernetes namespace or InferenceService name.
var rollbackKServeName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// rollbackKServe sets the predictor's canaryTrafficPercent to 0, which
// KServe documents as rolling back: all traffic goes to the previous
// rolled-out revision and the latest one keeps running with none. Undo
// sets canaryTrafficPercent back to what it was (removing it when it was
// not set).
//
// Idempotency: one JSON merge patch both changes canaryTrafficPercent and
// writes the record (with this step's marker) to the aisoar.io/rollback
// annotation, conditional on the resourceVersion read, so the change and
// its record land together or not at all. A re-run that finds its own
// record returns it and sends nothing.
func rollbackKServe(ctx context.Context, c *targetCall, p RollbackParams) (RollbackResult, error) {
	ns := cmp.Or(p.Namespace, c.target.Namespace)
	if !rollbackKServeName.MatchString(ns) {
		return RollbackResult{}, badParams("rollback", "namespace %q is not a Kubernetes namespace; give namespace or set it on target %q", ns, c.target.Name)
	}
	if !rollbackKServeName.MatchString(p.Model) {
		return RollbackResult{}, badParams("rollback", "model %q is not an InferenceService name (lowercase letters, digits and '-')", p.Model)
	}
	var want *int64 // canaryTrafficPercent to set; nil removes it
	if p.Restore == nil {
		want = new(int64)
	} else {
		var err error
		if want, err = restoredCanaryPercent(p.Restore); err != nil {
			return RollbackResult{}, err
		}
	}

	path := fmt.Sprintf("apis/serving.kserve.io/v1beta1/namespaces/%s/inferenceservices/%s", ns, p.Model)
	var isvc rollbackKServeISVC
	if err := c.do(ctx, http.MethodGet, path, nil, &isvc); err != nil {
		return RollbackResult{}, err
	}
	step := stepMark(ctx)
	if text, ok := isvc.Metadata.Annotations[rollbackKServeAnnotation]; ok {
		rec, err := decodeRollbackRecord(text, fmt.Sprintf("annotation %s of InferenceService %s/%s", rollbackKServeAnnotation, ns, p.Model))
		if err != nil {
			return RollbackResult{}, err
		}
		if rec.Step == step {
			return rec.result(true), nil
		}
	}

	mode := cmp.Or(isvc.Metadata.Annotations["serving.kserve.io/deploymentMode"], isvc.Status.DeploymentMode)
	if slices.Contains([]string{"rawdeployment", "standard", "modelmesh"}, strings.ToLower(mode)) {
		return RollbackResult{}, badParams("rollback", "InferenceService %s/%s runs in KServe's %s mode, where canaryTrafficPercent does not split traffic; canary rollback needs the Knative (Serverless) mode", ns, p.Model, mode)
	}
	pred := isvc.Status.Components.Predictor
	// The revision KServe sends the non-canary share to: the last rolled-out
	// one, or, when the latest revision is itself rolled out, the one
	// rolled out before it.
	pinned := pred.LatestRolledoutRevision
	if pinned == pred.LatestReadyRevision {
		pinned = pred.PreviousRolledoutRevision
	}
	latest := pred.LatestReadyRevision
	if c.dryRun {
		pinned = rollbackPlaceholder("previous rolled-out revision of %s", p.Model)
		latest = rollbackPlaceholder("latest revision of %s", p.Model)
	}
	if pinned == "" && p.Restore == nil {
		return RollbackResult{}, badParams("rollback", "InferenceService %s/%s has no earlier rolled-out predictor revision to roll back to (status.components.predictor: latest ready %q, latest rolled out %q, previous rolled out %q)",
			ns, p.Model, pred.LatestReadyRevision, pred.LatestRolledoutRevision, pred.PreviousRolledoutRevision)
	}
	have := isvc.Spec.Predictor.CanaryTrafficPercent
	rec := rollbackRecord{Step: step, From: latest, To: pinned, Restore: map[string]any{"canary_traffic_percent": have}}
	if p.Restore != nil {
		rec.From, rec.To = pinned, latest
	}
	if !c.dryRun && rollbackSamePercent(have, want) {
		return rec.result(false), nil
	}

	meta := map[string]any{"annotations": map[string]string{rollbackKServeAnnotation: rec.encode()}}
	if isvc.Metadata.ResourceVersion != "" {
		meta["resourceVersion"] = isvc.Metadata.ResourceVersion
	}
	patch := map[string]any{
		"metadata": meta,
		"spec":     map[string]any{"predictor": map[string]any{"canaryTrafficPercent": want}},
	}
	if err := c.doAs(ctx, http.MethodPatch, path, "application/merge-patch+json", patch, nil); err != nil {
		if IsStatus(err, http.StatusConflict) {
			// Changed since it was read: a retry reads it again.
			return RollbackResult{}, temporal.NewApplicationError(err.Error(), "TargetStatus", http.StatusConflict)
		}
		return RollbackResult{}, err
	}
	return rec.result(true), nil
}

// restoredCanaryPercent reads the canaryTrafficPercent a KServe rollback
// recorded in its output.restore.
func restoredCanaryPercent(restore map[string]any) (*int64, error) {
	v, ok := restore["canary_traffic_percent"]
	if !ok {
		return nil, badParams("rollback", "restore must be the output.restore of a rollback of a kserve target, such as {canary_traffic_percent: 10}; got %v", restore)
	}
	if v == nil {
		return nil, nil
	}
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || f < 0 || f > 100 {
		return nil, badParams("rollback", "restore.canary_traffic_percent must be a whole number from 0 to 100 or null, not %v", v)
	}
	n := int64(f)
	return &n, nil
}

func rollbackSamePercent(a, b *int64) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}
