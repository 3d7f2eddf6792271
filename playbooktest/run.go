package playbooktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/aisoar/aisoar/activities"
	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/assets"
	"github.com/aisoar/aisoar/internal/diag"
	"github.com/aisoar/aisoar/playbooks"
	"github.com/aisoar/aisoar/workflows"
)

// PollInterval is how often, in workflow time, the runner reads the
// incident's status to send the scripted decisions and to see whether the
// incident has settled.
const PollInterval = 30 * time.Second

// SettleLimit is how long, in workflow time, a run may go on after its
// last scripted event (a signal, the resolution) before it is stopped as
// stuck.
const SettleLimit = 7 * 24 * time.Hour

// startTime is the workflow clock when every scenario starts, so that
// times in outputs and messages do not change from run to run.
var startTime = time.Date(2026, time.January, 15, 9, 0, 0, 0, time.UTC)

// defaultApprovers are the members of each role the playbook names that
// the scenario does not give.
var defaultApprovers = []string{"analyst-1", "analyst-2"}

// Result is the outcome of one scenario.
type Result struct {
	Playbook string
	Scenario string
	// Mismatches are what went otherwise than expected, one message each;
	// none means the scenario passed.
	Mismatches []string
	// Status is the incident as it ended; nil when it did not run.
	Status *workflows.Status
	// Calls are the stubbed actions' calls by activity id (the step id, or
	// undo_<id>), one per attempt.
	Calls map[string][]Call
}

// Passed reports whether everything went as expected.
func (r *Result) Passed() bool { return len(r.Mismatches) == 0 }

// Call is one attempt of a stubbed action.
type Call struct {
	Action  string
	Attempt int
	Params  map[string]any
}

// Run runs one scenario of playbook pb as an incident on Temporal's test
// environment and compares what happened with the scenario's expectations.
//
// Decisions are sent when the runner finds their step waiting (it reads
// the status every PollInterval of workflow time); an approval with no
// decision left times out by itself, the clock skipping ahead. Without a
// scripted resolution the run ends once the incident has settled: every
// signal delivered, the state contained or failed, no step running or
// waiting, no timed undo pending. The runner then reads the final status
// and cancels the workflow, which would otherwise stay open until
// resolved. With one, the workflow ends by itself after the undo steps.
func Run(ctx context.Context, compiler *playbooks.Compiler, pb *playbooks.Playbook, sc *Scenario) Result {
	res := Result{Playbook: pb.ID, Scenario: sc.Name}
	if problems := sc.check(pb); len(problems) > 0 {
		res.Mismatches = problems
		return res
	}
	r, err := newRunner(ctx, compiler, pb, sc)
	if err != nil {
		res.Mismatches = []string{err.Error()}
		return res
	}
	res.Status, res.Calls = r.run()
	res.Mismatches = append(r.problems, r.compare(res.Status)...)
	return res
}

// runner drives one scenario's workflow. Except for the stubbed actions,
// which run on their own goroutines, everything here runs on the test
// environment's main loop.
type runner struct {
	ctx      context.Context
	env      *testsuite.TestWorkflowEnvironment
	pb       *playbooks.Playbook
	sc       *Scenario
	input    workflows.Input
	alert    map[string]any
	deadline time.Time

	mu    sync.Mutex
	calls map[string][]Call

	problems []string
	// status is the incident as last read; stopped is set once the runner
	// cancelled the workflow.
	status  *workflows.Status
	stopped bool
	// lastSignal is when the last scripted alert arrives, after the start.
	lastSignal time.Duration
	// Per step: decisions sent, a decision in flight, decisions given up
	// on, and whether the step was seen waiting.
	sent     map[string]int
	inFlight map[string]bool
	gaveUp   map[string]bool
	waited   map[string]bool
}

func newRunner(ctx context.Context, compiler *playbooks.Compiler, pb *playbooks.Playbook, sc *Scenario) (*runner, error) {
	r := &runner{
		ctx: ctx, pb: pb, sc: sc, calls: map[string][]Call{},
		sent: map[string]int{}, inFlight: map[string]bool{}, gaveUp: map[string]bool{}, waited: map[string]bool{},
	}
	source := "scenario"
	if len(pb.Trigger.Sources) > 0 {
		source = pb.Trigger.Sources[0]
	}
	r.alert = merge(map[string]any{
		"id": "alert-1", "source": source, "status": string(alerts.StatusFiring),
		"time": startTime.Format(time.RFC3339), "received": startTime.Format(time.RFC3339),
	}, sc.Alert)
	alert, err := decodeAlert(r.alert)
	if err != nil {
		return nil, fmt.Errorf("%s: alert: %v", sc.at("alert"), err)
	}
	asset := assets.Match{}
	switch {
	case sc.Asset != nil:
		asset = *sc.Asset
	case sc.inventory != nil:
		asset = sc.inventory.Match(&alert.Asset)
	}
	compiled, diags := compiler.Compile(pb)
	if len(diags) > 0 {
		return nil, fmt.Errorf("the playbook does not compile:\n%v", diags)
	}
	vars := playbooks.NewVars(&alert)
	vars.SetAsset(asset)
	if ok, err := compiled.Matches(&alert, vars); err != nil || !ok {
		why := "is false"
		if err != nil {
			why = "fails: " + err.Error()
		} else if !compiled.AcceptsSource(alert.Source) {
			why = fmt.Sprintf("takes sources %s, not %q", strings.Join(pb.Trigger.Sources, ", "), alert.Source)
		}
		return nil, fmt.Errorf("%s: alert: the playbook's trigger would not start this incident: %s %s", sc.at("alert"), pb.Trigger.When, why)
	}
	r.input = workflows.Input{
		Playbook: *pb, Alert: alert, Asset: asset, Roles: roles(pb, sc.Roles),
		RequestedBy: sc.RequestedBy, DryRun: sc.DryRun,
	}

	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	r.env = suite.NewTestWorkflowEnvironment()
	r.env.SetStartTime(startTime)
	r.env.RegisterWorkflowWithOptions(workflows.NewInterpreter(compiler, workflows.InterpreterOptions{}).Run,
		workflow.RegisterOptions{Name: workflows.WorkflowName})
	for _, name := range actionNames(pb) {
		r.env.RegisterActivityWithOptions(r.stub, activity.RegisterOptions{Name: name})
	}
	return r, nil
}

// decodeAlert turns alert fields into an Alert.
func decodeAlert(fields map[string]any) (alerts.Alert, error) {
	var a alerts.Alert
	data, err := json.Marshal(fields)
	if err == nil {
		err = json.Unmarshal(data, &a)
	}
	return a, err
}

// merge lays over on base, mappings key by key, and returns the result.
func merge(base, over map[string]any) map[string]any {
	out := maps.Clone(base)
	for k, v := range over {
		if sub, ok := v.(map[string]any); ok {
			if was, ok := out[k].(map[string]any); ok {
				out[k] = merge(was, sub)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// roles fills in the default members of every role the playbook names.
func roles(pb *playbooks.Playbook, given map[string][]string) map[string][]string {
	out := maps.Clone(given)
	if out == nil {
		out = map[string][]string{}
	}
	pb.Walk(func(_ string, s *playbooks.Step) {
		if a := s.Approval; a != nil {
			for _, role := range []string{a.Role, a.EscalateTo} {
				if _, ok := out[role]; role != "" && !ok {
					out[role] = slices.Clone(defaultApprovers)
				}
			}
		}
	})
	return out
}

// actionNames are the activities a run may call: every action of the
// catalog and any other the playbook names.
func actionNames(pb *playbooks.Playbook) []string {
	names := slices.Collect(maps.Keys(activities.Catalog()))
	pb.Walk(func(_ string, s *playbooks.Step) {
		names = append(names, s.Action)
		if s.Undo != nil {
			names = append(names, s.Undo.Action)
		}
	})
	slices.Sort(names)
	return slices.DeleteFunc(slices.Compact(names), func(n string) bool { return n == "" })
}

// stub is every action: it records the call and answers as scripted for
// its step (the activity id).
func (r *runner) stub(ctx context.Context, params map[string]any) (map[string]any, error) {
	info := activity.GetInfo(ctx)
	id, attempt := info.ActivityID, int(info.Attempt)
	r.mu.Lock()
	r.calls[id] = append(r.calls[id], Call{Action: info.ActivityType.Name, Attempt: attempt, Params: params})
	r.mu.Unlock()
	stub := r.sc.Actions[id]
	if stub == nil {
		return map[string]any{}, nil
	}
	if (stub.Error != nil && stub.FailAttempts == 0) || attempt <= stub.FailAttempts {
		msg, errType := fmt.Sprintf("scripted failure (attempt %d)", attempt), ""
		if stub.Error != nil {
			msg, errType = stub.Error.Message, stub.Error.Type
		}
		if stub.Error.retryable() {
			return nil, temporal.NewApplicationError(msg, errType)
		}
		return nil, temporal.NewNonRetryableApplicationError(msg, errType, nil)
	}
	out := maps.Clone(stub.Output)
	if out == nil {
		out = map[string]any{}
	}
	return out, nil
}

// run executes the workflow with the scenario's events and returns the
// final status and the calls.
func (r *runner) run() (*workflows.Status, map[string][]Call) {
	for _, s := range r.sc.Signals {
		alert, err := decodeAlert(merge(r.alert, s.Alert))
		if err != nil {
			r.problemf("signal: %v", err)
			continue
		}
		r.env.RegisterDelayedCallback(func() { r.env.SignalWorkflow(workflows.AlertSignal, alert) }, s.After.Std())
		r.lastSignal = max(r.lastSignal, s.After.Std())
	}
	if res := r.sc.Resolve; res != nil {
		resolution := workflows.Resolution{By: res.By, Reason: res.Reason}
		if resolution.By == "" {
			resolution.By = defaultApprovers[0]
		}
		r.env.RegisterDelayedCallback(func() {
			r.env.UpdateWorkflow(workflows.ResolveUpdate, "", &testsuite.TestUpdateCallback{
				OnAccept:   func() {},
				OnReject:   func(err error) { r.problemf("resolve: refused: %v", err) },
				OnComplete: func(any, error) {},
			}, resolution)
		}, res.After.Std())
	}
	last := r.lastSignal
	if res := r.sc.Resolve; res != nil {
		last = max(last, res.After.Std())
	}
	r.deadline = startTime.Add(last + SettleLimit)
	r.env.RegisterDelayedCallback(r.tick, PollInterval)

	status := r.execute()
	r.mu.Lock()
	defer r.mu.Unlock()
	return status, r.calls
}

// execute runs the workflow to its end and returns the final status.
func (r *runner) execute() (status *workflows.Status) {
	defer func() {
		if p := recover(); p != nil {
			r.problemf("the run broke down: %v", p)
			status = r.status
		}
	}()
	r.env.ExecuteWorkflow(workflows.WorkflowName, r.input)
	if r.stopped {
		return r.status
	}
	if !r.env.IsWorkflowCompleted() {
		r.problemf("the workflow did not complete")
		return r.status
	}
	if err := r.env.GetWorkflowError(); err != nil {
		msg := err.Error()
		if appErr := (*temporal.ApplicationError)(nil); errors.As(err, &appErr) {
			msg = appErr.Message()
		}
		r.problemf("the workflow failed: %s", msg)
		return r.status
	}
	var final workflows.Status
	if err := r.env.GetWorkflowResult(&final); err != nil {
		r.problemf("reading the workflow result: %v", err)
		return r.status
	}
	return &final
}

func (r *runner) problemf(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

// tick reads the status, sends the decisions due, and either ends the run
// or looks again after PollInterval.
func (r *runner) tick() {
	if r.stopped {
		return
	}
	value, err := r.env.QueryWorkflow(workflows.StatusQuery)
	var status workflows.Status
	if err == nil {
		err = value.Get(&status)
	}
	if err != nil {
		r.problemf("reading the incident status: %v", err)
		r.stop()
		return
	}
	r.status = &status
	r.decide(&status)
	switch {
	case r.settled(&status):
		r.stop()
		return
	case r.ctx.Err() != nil:
		r.problemf("interrupted: %v", r.ctx.Err())
		r.stop()
		return
	case r.env.Now().After(r.deadline):
		r.problemf("the incident did not settle within %s of the last scripted event: %s", SettleLimit, inProgress(&status))
		r.stop()
		return
	}
	r.env.RegisterDelayedCallback(r.tick, PollInterval)
}

// stop ends the run: the workflow is cancelled and the last status read
// is the result.
func (r *runner) stop() {
	r.stopped = true
	r.env.CancelWorkflow()
}

// decide sends the next scripted decision of every waiting step.
func (r *runner) decide(status *workflows.Status) {
	for _, st := range allSteps(status) {
		a := st.Approval
		if st.State != workflows.StepWaiting || a == nil || a.Outcome != workflows.OutcomeWaiting {
			continue
		}
		r.waited[st.ID] = true
		scripted := r.sc.Approvals[st.ID]
		if r.inFlight[st.ID] || r.gaveUp[st.ID] || r.sent[st.ID] >= len(scripted) {
			continue
		}
		d := scripted[r.sent[st.ID]]
		by := d.By
		if by == "" {
			if by = r.nextApprover(a); by == "" {
				r.problemf("approvals.%s: nobody in role %q is left to decide", st.ID, a.Role)
				r.gaveUp[st.ID] = true
				continue
			}
		}
		if r.holdForEscalation(st.ID, a, by) {
			continue
		}
		r.sent[st.ID]++
		r.inFlight[st.ID] = true
		id := st.ID
		r.env.UpdateWorkflow(workflows.DecisionUpdate, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) {
				r.problemf("approvals.%s: the decision of %s was refused: %v", id, by, err)
				r.inFlight[id], r.gaveUp[id] = false, true
			},
			OnComplete: func(any, error) { r.inFlight[id] = false },
		}, workflows.Decision{Step: id, Approver: by, Approve: d.Approve, Reason: d.Reason, Via: "scenario"})
	}
}

// nextApprover is the first member of the waiting role who has not decided
// and may approve.
func (r *runner) nextApprover(a *workflows.ApprovalStatus) string {
	for _, member := range r.input.Roles[a.Role] {
		decided := slices.ContainsFunc(a.Decisions, func(d workflows.Decision) bool { return d.Approver == member })
		if !decided && !(a.TwoPerson && member == r.input.RequestedBy) {
			return member
		}
	}
	return ""
}

// holdForEscalation keeps back a decision by a member of the role the
// approval escalates to until it has escalated.
func (r *runner) holdForEscalation(id string, a *workflows.ApprovalStatus, by string) bool {
	step := r.step(id)
	if a.Escalated || step == nil || step.Approval == nil || step.Approval.OnTimeout != playbooks.OnTimeoutEscalate {
		return false
	}
	roles := r.input.Roles
	return !slices.Contains(roles[a.Role], by) && slices.Contains(roles[step.Approval.EscalateTo], by)
}

// step returns the playbook step with the given id, on_failure handlers
// included under their default ids.
func (r *runner) step(id string) *playbooks.Step {
	var found *playbooks.Step
	walkIDs(r.pb, func(sid string, s *playbooks.Step) {
		if sid == id && found == nil {
			found = s
		}
	})
	return found
}

// settled reports whether nothing more happens to the incident unless
// someone acts: the end of a run without a scripted resolution.
func (r *runner) settled(status *workflows.Status) bool {
	// A signal is folded in the workflow task after its delivery: the
	// status shows it only after that instant.
	if r.env.Now().Sub(startTime) <= r.lastSignal || r.sc.Resolve != nil ||
		slices.Contains(slices.Collect(maps.Values(r.inFlight)), true) {
		return false
	}
	if status.State != workflows.StateContained && status.State != workflows.StateOpen && status.State != workflows.StateFailed {
		return false
	}
	if inProgress(status) != "" {
		return false
	}
	undone := map[string]bool{}
	for _, u := range status.Undo {
		undone[strings.TrimPrefix(u.ID, "undo_")] = true
	}
	for _, st := range status.Steps {
		if s := r.step(st.ID); st.State == workflows.StepDone && s != nil && s.Undo != nil && s.Undo.After > 0 && !undone[st.ID] {
			return false
		}
	}
	return true
}

// inProgress lists the steps still pending, running or waiting.
func inProgress(status *workflows.Status) string {
	var busy []string
	for _, st := range allSteps(status) {
		switch st.State {
		case workflows.StepPending, workflows.StepRunning, workflows.StepWaiting:
			busy = append(busy, fmt.Sprintf("%s is %s", st.ID, st.State))
		}
	}
	return strings.Join(busy, ", ")
}

// allSteps lists the steps, on_failure handlers and undo steps of status.
func allSteps(status *workflows.Status) []*workflows.StepStatus {
	if status == nil {
		return nil
	}
	return slices.Concat(status.Steps, status.OnFailure, status.Undo)
}

// walkIDs calls fn for every step of pb with the id the incident gives it:
// on_failure handlers without one are on_failure_<n>.
func walkIDs(pb *playbooks.Playbook, fn func(id string, s *playbooks.Step)) {
	pb.Walk(func(path string, s *playbooks.Step) {
		id := s.ID
		if id == "" {
			var n int
			if _, err := fmt.Sscanf(path, "on_failure[%d]", &n); err == nil {
				id = fmt.Sprintf("on_failure_%d", n+1)
			}
		}
		fn(id, s)
	})
}

// check reports the parts of the scenario that name steps the playbook
// does not have, or approvals it does not ask for.
func (sc *Scenario) check(pb *playbooks.Playbook) []string {
	var ids, approvals []string
	walkIDs(pb, func(id string, s *playbooks.Step) {
		ids = append(ids, id)
		if s.Undo != nil {
			ids = append(ids, "undo_"+id)
		}
		if s.Approval != nil {
			approvals = append(approvals, id)
		}
	})
	var problems []string
	known := func(part, id string) bool {
		if !slices.Contains(ids, id) {
			problems = append(problems, fmt.Sprintf("%s: %s: playbook %s has no step %q%s", sc.at(part), part, pb.ID, id, diag.DidYouMean(id, ids)))
			return false
		}
		return true
	}
	for _, id := range slices.Sorted(maps.Keys(sc.Actions)) {
		known("actions."+id, id)
	}
	for _, id := range slices.Sorted(maps.Keys(sc.Approvals)) {
		if part := "approvals." + id; known(part, id) && !slices.Contains(approvals, id) {
			problems = append(problems, fmt.Sprintf("%s: %s: step %q of playbook %s asks for no approval (steps that do: %s)", sc.at(part), part, id, pb.ID, strings.Join(approvals, ", ")))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(sc.Expect.Steps)) {
		known("expect.steps."+id, id)
	}
	for _, id := range slices.Sorted(maps.Keys(sc.Expect.Calls)) {
		known("expect.calls."+id, id)
	}
	for _, id := range slices.Sorted(maps.Keys(sc.Expect.Attempts)) {
		known("expect.attempts."+id, id)
	}
	for i, id := range sc.Expect.NotCalled {
		known(fmt.Sprintf("expect.not_called[%d]", i), id)
	}
	if id := sc.Expect.FailureStep; id != "" {
		known("expect.failure_step", id)
	}
	return problems
}
