package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/aisoar/aisoar/playbooks"
)

// awaitApproval blocks until the step is approved, rejected, or its
// deadline passes and on_timeout decides. It returns whether the step may
// run, and why not.
func (inc *incident) awaitApproval(ctx workflow.Context, s *playbooks.Step, st *StepStatus) (bool, string) {
	a := s.Approval
	inc.refreshVars(ctx)
	message, err := inc.compiled.RenderString(a.Message, inc.vars)
	if err != nil {
		message = fmt.Sprintf("%s (message could not be rendered: %v)", a.Message, err)
	}
	approval := &ApprovalStatus{
		Role:      a.Role,
		TwoPerson: a.TwoPerson,
		Message:   message,
		Requested: workflow.Now(ctx),
		Deadline:  workflow.Now(ctx).Add(a.Timeout.Std()),
		Outcome:   OutcomeWaiting,
	}
	st.Approval, st.State = approval, StepWaiting
	inc.decisions[s.ID] = approval
	defer inc.recordApproval(ctx, approval, workflow.Now(ctx))
	inc.setState(ctx, StateWaiting)
	inc.mirrorToSlack(ctx, s, approval)
	defer inc.setState(ctx, StateRunning)
	workflow.GetLogger(ctx).Info("step waits for approval", "step", s.ID, "role", a.Role, "deadline", approval.Deadline)

	decided := func() bool { return approval.Outcome != OutcomeWaiting }
	if inc.await(ctx, a.Timeout.Std(), decided) {
		return approval.Outcome == OutcomeApproved, inc.rejection(approval)
	}
	switch a.OnTimeout {
	case playbooks.OnTimeoutApprove:
		approval.Outcome = OutcomeApproved
		return true, ""
	case playbooks.OnTimeoutEscalate:
		timeout := a.EscalationTimeout.Std()
		if timeout == 0 {
			timeout = a.Timeout.Std()
		}
		approval.Role, approval.Escalated = a.EscalateTo, true
		approval.Deadline = workflow.Now(ctx).Add(timeout)
		workflow.GetLogger(ctx).Info("approval escalated", "step", s.ID, "role", a.EscalateTo)
		if inc.await(ctx, timeout, decided) {
			return approval.Outcome == OutcomeApproved, inc.rejection(approval)
		}
	}
	approval.Outcome = OutcomeExpired
	return false, fmt.Sprintf("no decision by %s", approval.Deadline.UTC().Format(time.RFC3339))
}

// await waits for cond up to timeout and reports whether it became true.
// A cancelled workflow counts as not true.
func (inc *incident) await(ctx workflow.Context, timeout time.Duration, cond func() bool) bool {
	ok, err := workflow.AwaitWithTimeout(ctx, timeout, cond)
	return ok && err == nil
}

func (inc *incident) rejection(a *ApprovalStatus) string {
	switch a.Outcome {
	case OutcomeApproved:
		return ""
	case OutcomeExpired:
		return "the incident was resolved before a decision"
	}
	last := a.Decisions[len(a.Decisions)-1]
	reason := "rejected by " + last.Approver
	if last.Reason != "" {
		reason += ": " + last.Reason
	}
	return reason
}

// validateDecision refuses, before anything is written to history, a
// decision that may not be taken.
func (inc *incident) validateDecision(d Decision) error {
	a, ok := inc.decisions[d.Step]
	switch {
	case d.Approver == "":
		return fmt.Errorf("a decision needs the approver's identity")
	case !ok:
		if _, exists := inc.steps[d.Step]; !exists {
			return fmt.Errorf("incident has no step %q", d.Step)
		}
		return fmt.Errorf("step %q is not waiting for a decision (it is %s)", d.Step, inc.steps[d.Step].State)
	case a.Outcome != OutcomeWaiting:
		return fmt.Errorf("step %q was already decided: %s", d.Step, a.Outcome)
	case !slices.Contains(inc.input.Roles[a.Role], d.Approver):
		return fmt.Errorf("%s is not an approver in role %q", d.Approver, a.Role)
	}
	for _, prior := range a.Decisions {
		if prior.Approver == d.Approver {
			return fmt.Errorf("%s has already decided step %q", d.Approver, d.Step)
		}
	}
	if a.TwoPerson && d.Approve && d.Approver == inc.input.RequestedBy {
		return fmt.Errorf("%s requested this incident and cannot approve it: step %q needs two other people", d.Approver, d.Step)
	}
	return nil
}

// decide records a validated decision. One rejection rejects the step; it
// is approved once enough different approvers agreed.
func (inc *incident) decide(ctx workflow.Context, d Decision) (DecisionResult, error) {
	a := inc.decisions[d.Step]
	d.At = workflow.Now(ctx)
	a.Decisions = append(a.Decisions, d)
	inc.recordDecision(ctx, d.At)
	needed := 1
	if a.TwoPerson {
		needed = 2
	}
	approvals := 0
	for _, prior := range a.Decisions {
		if prior.Approve {
			approvals++
		}
	}
	switch {
	case !d.Approve:
		a.Outcome = OutcomeRejected
	case approvals >= needed:
		a.Outcome = OutcomeApproved
	}
	workflow.GetLogger(ctx).Info("approval decision", "step", d.Step, "approver", d.Approver, "approve", d.Approve, "outcome", a.Outcome)
	return DecisionResult{Step: d.Step, Outcome: a.Outcome, Approvals: approvals, Needed: needed}, nil
}

func (inc *incident) resolveRequested() bool { return inc.resolution != nil }

func (inc *incident) validateResolve(r Resolution) error {
	switch {
	case r.By == "":
		return fmt.Errorf("resolving needs the identity of who resolves")
	case inc.resolution != nil:
		return fmt.Errorf("incident is already resolved by %s", inc.resolution.By)
	}
	return nil
}

// requestResolve marks the incident for resolution; the main loop runs the
// undo steps. Steps still running or waiting are abandoned.
func (inc *incident) requestResolve(ctx workflow.Context, r Resolution) (*Status, error) {
	r.At = workflow.Now(ctx)
	inc.resolution = &r
	for _, a := range inc.decisions {
		if a.Outcome == OutcomeWaiting {
			a.Outcome = OutcomeExpired
		}
	}
	return inc.status, nil
}

// resolve runs the undo steps of the completed steps in reverse order (a
// saga), then closes the incident: resolved, or reclassified when it was
// moved to the other triage class.
func (inc *incident) resolve(ctx workflow.Context) {
	inc.status.Resolution = inc.resolution
	if slices.ContainsFunc(inc.done, func(s *playbooks.Step) bool { return s.Undo != nil }) {
		inc.setState(ctx, StateResolving)
	}
	for i := len(inc.done) - 1; i >= 0; i-- {
		if s := inc.done[i]; s.Undo != nil && !inc.undone[s.ID] {
			inc.undo(ctx, s)
		}
	}
	if inc.status.ReclassifiedTo != "" {
		inc.setState(ctx, StateReclassified)
		return
	}
	inc.setState(ctx, StateResolved)
}
