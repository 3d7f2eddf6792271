package workflows

import (
	"slices"

	"go.temporal.io/sdk/workflow"

	"github.com/aisoar/aisoar/playbooks"
)

// carry is what the next run needs to go on with the incident.
func (inc *incident) carry() *Resumed {
	r := &Resumed{Status: inc.status, AutoResolveAt: inc.autoResolveAt, UndoAt: inc.undoAt}
	for _, s := range inc.done {
		r.Done = append(r.Done, s.ID)
		if inc.undone[s.ID] {
			r.Undone = append(r.Undone, s.ID)
		}
	}
	for key := range inc.seen {
		r.Seen = append(r.Seen, key)
	}
	slices.Sort(r.Seen)
	return r
}

// resume restores an incident carried over from an earlier run: its steps
// are not run again.
func (inc *incident) resume(ctx workflow.Context, r *Resumed) {
	inc.status = r.Status
	inc.autoResolveAt = r.AutoResolveAt
	inc.startSignalSeen = true
	for _, key := range r.Seen {
		inc.seen[key] = true
	}
	inc.steps = map[string]*StepStatus{}
	for _, st := range append(slices.Clone(inc.status.Steps), inc.status.OnFailure...) {
		inc.steps[st.ID] = st
		switch st.State {
		case StepDone:
			inc.vars.SetStep(st.ID, playbooks.StepState{OK: true, Output: st.Output})
		case StepFailed:
			inc.vars.SetStep(st.ID, playbooks.StepState{Error: st.Error})
		case StepSkipped, StepRejected:
			inc.vars.SetStep(st.ID, playbooks.StepState{Skipped: true})
		}
	}
	for _, id := range r.Done {
		if s := inc.input.Playbook.Step(id); s != nil {
			inc.done = append(inc.done, s)
		}
	}
	for _, id := range r.Undone {
		inc.undone[id] = true
	}
	for _, s := range inc.done {
		if at, ok := r.UndoAt[s.ID]; ok && !inc.undone[s.ID] {
			inc.scheduleUndo(ctx, s, at)
		}
	}
	if f := inc.status.Failure; f != nil {
		inc.vars.SetFailure(*f)
	}
}
