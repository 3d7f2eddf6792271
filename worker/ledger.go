package worker

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/client"

	"github.com/aisoar/aisoar/workflows"
)

// ledgerRecorder is the activity through which workflows (the daily
// re-attestation) write to the ledger: a workflow can signal only a
// running workflow, and the ledger may not be running yet.
type ledgerRecorder struct {
	client    client.Client
	taskQueue string
}

// Record adds the day's facts to the ledger, starting the ledger when it
// is not running. Verdicts merge by keeping the worst, so a retried
// signal changes nothing.
func (r *ledgerRecorder) Record(ctx context.Context, d workflows.LedgerDay) error {
	_, err := r.client.SignalWithStartWorkflow(ctx, workflows.LedgerWorkflowID, workflows.LedgerSignal, d,
		workflows.LedgerStartOptions(r.taskQueue), workflows.LedgerWorkflowName, workflows.Ledger{})
	if err != nil {
		return fmt.Errorf("recording day %s in the ledger: %w", d.Day, err)
	}
	return nil
}
