package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aisoar/aisoar/activities"
)

// The daily re-attestation: a Temporal Schedule starts ReattestWorkflowName,
// which checks every inventory model's artifact with verify_artifact and
// records the verdicts in the ledger.
const (
	ReattestWorkflowName = "aisoar-reattest"
	// ReattestScheduleID is the Schedule's id; ReattestWorkflowID the id
	// (before the Schedule's timestamp suffix) of the runs it starts.
	ReattestScheduleID = "aisoar-reattest"
	ReattestWorkflowID = "aisoar/reattest"
)

// ReattestResult is the verdicts of one re-attestation, by model.
type ReattestResult struct {
	Day      string             `json:"day"`
	Verdicts map[string]Verdict `json:"verdicts"`
}

// Re-attestation activity settings: an artifact can be large, so the
// check gets time and heartbeats; a few attempts, then the verdict is
// error.
const (
	reattestTimeout   = 30 * time.Minute
	reattestHeartbeat = 2 * time.Minute
	reattestAttempts  = 3
)

// Reattest loads the inventory (afresh, so a changed assets.yaml counts),
// checks every model that has an artifact digest or signature, and
// records each verdict for the day it started on. A check that fails
// after its retries is the verdict error, with the failure as reason.
func Reattest(ctx workflow.Context) (ReattestResult, error) {
	day := Day(workflow.Now(ctx))
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: reattestTimeout,
		HeartbeatTimeout:    reattestHeartbeat,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: reattestAttempts},
	})
	var inv activities.LoadInventoryResult
	if err := workflow.ExecuteActivity(ctx, activities.LoadInventory).Get(ctx, &inv); err != nil {
		return ReattestResult{}, err
	}
	futures := make([]workflow.Future, len(inv.Models))
	for i, m := range inv.Models {
		if m.Problem == "" {
			futures[i] = workflow.ExecuteActivity(ctx, "verify_artifact", m.Params)
		}
	}
	result := ReattestResult{Day: day, Verdicts: map[string]Verdict{}}
	for i, m := range inv.Models {
		if m.Problem != "" {
			result.Verdicts[m.Model] = Verdict{Verdict: VerdictError, Reason: m.Problem}
			continue
		}
		var out activities.VerifyArtifactResult
		if err := futures[i].Get(ctx, &out); err != nil {
			result.Verdicts[m.Model] = Verdict{Verdict: VerdictError, Reason: failureMessage(err)}
			continue
		}
		result.Verdicts[m.Model] = Verdict{Verdict: out.Verdict, Reason: out.Reason}
	}
	workflow.GetLogger(ctx).Info("re-attestation done", "day", day, "models", len(result.Verdicts))
	if len(result.Verdicts) == 0 {
		return result, nil
	}
	err := workflow.ExecuteActivity(ctx, LedgerRecordActivity, LedgerDay{Day: day, Verdicts: result.Verdicts}).Get(ctx, nil)
	return result, err
}

// failureMessage is an activity failure's own message, without Temporal's
// wrapping.
func failureMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return err.Error()
}
