package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/aisoar/aisoar/playbooks"
)

// undo runs the undo of completed step s once and records it in the status.
func (inc *incident) undo(ctx workflow.Context, s *playbooks.Step) {
	inc.undone[s.ID] = true
	delete(inc.undoAt, s.ID)
	undo := &playbooks.Step{ID: "undo_" + s.ID, Action: s.Undo.Action, With: s.Undo.With, Timeout: s.Timeout, Retry: s.Retry}
	st := &StepStatus{ID: undo.ID, Action: undo.Action, State: StepRunning, Started: workflow.Now(ctx)}
	inc.status.Undo = append(inc.status.Undo, st)
	output, err := inc.runAction(ctx, undo)
	st.Ended = workflow.Now(ctx)
	defer inc.recordStep(ctx, undo, st)
	if err != nil {
		st.State, st.Error = StepFailed, errorMessage(err)
		workflow.GetLogger(ctx).Error("undo failed", "step", s.ID, "error", st.Error)
		return
	}
	st.State, st.Output = StepDone, output
}

// scheduleUndo runs the undo of s at the given time (its undo.after), so a
// containment lifts itself, unless the incident resolves first; resolving
// undoes it then instead.
func (inc *incident) scheduleUndo(ctx workflow.Context, s *playbooks.Step, at time.Time) {
	inc.undoAt[s.ID] = at
	workflow.Go(ctx, func(ctx workflow.Context) {
		if wait := at.Sub(workflow.Now(ctx)); wait > 0 {
			if err := workflow.Sleep(ctx, wait); err != nil {
				return
			}
		}
		if inc.resolution != nil || inc.undone[s.ID] {
			return
		}
		inc.undoing++
		defer func() { inc.undoing-- }()
		workflow.GetLogger(ctx).Info("undo is due", "step", s.ID, "after", s.Undo.After.String())
		inc.undo(ctx, s)
	})
}
