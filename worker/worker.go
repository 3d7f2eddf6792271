// Package worker builds the Temporal worker that runs incidents: the
// playbook interpreter workflow and every action's activity.
package worker

import (
	"context"
	"fmt"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aisoar/aisoar/activities"
	"github.com/aisoar/aisoar/playbooks"
	"github.com/aisoar/aisoar/workflows"
)

// Options configures the worker.
type Options struct {
	TaskQueue string
	Compiler  *playbooks.Compiler
	Actions   *activities.Registry
	// Worker tunes the SDK worker (concurrency and the like).
	Worker sdkworker.Options
}

// New returns a worker, not yet started, that runs the interpreter
// workflow and the actions on the task queue, and the governance ledger
// and daily re-attestation workflows.
func New(c client.Client, opts Options) sdkworker.Worker {
	w := sdkworker.New(c, opts.TaskQueue, opts.Worker)
	w.RegisterWorkflowWithOptions(workflows.NewInterpreter(opts.Compiler, workflows.InterpreterOptions{}).Run, workflow.RegisterOptions{Name: workflows.WorkflowName})
	w.RegisterWorkflowWithOptions(workflows.RunLedger, workflow.RegisterOptions{Name: workflows.LedgerWorkflowName})
	w.RegisterWorkflowWithOptions(workflows.Reattest, workflow.RegisterOptions{Name: workflows.ReattestWorkflowName})
	w.RegisterActivityWithOptions((&ledgerRecorder{client: c, taskQueue: opts.TaskQueue}).Record, activity.RegisterOptions{Name: workflows.LedgerRecordActivity})
	opts.Actions.Register(w)
	return w
}

// EnsureSearchAttributes registers the incident search attributes on the
// namespace when they are missing, so a fresh production cluster works
// without a manual step.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	ops := c.OperatorService()
	existing, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("listing search attributes of namespace %q: %w", namespace, err)
	}
	missing := workflows.SearchAttributes()
	for name := range existing.GetCustomAttributes() {
		delete(missing, name)
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing}); err != nil {
		return fmt.Errorf("adding search attributes to namespace %q: %w", namespace, err)
	}
	return nil
}
