package workflows

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aisoar/aisoar/activities"
	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/playbooks"
)

// Default activity settings for steps that set none.
const (
	DefaultStepTimeout = time.Minute
	DefaultMaxAttempts = 3
)

// maxSeenAlerts bounds the alert ids an incident remembers to tell a
// redelivery from a new alert.
const maxSeenAlerts = 1000

// DefaultMaxHistoryEvents is the history length at which an open incident
// continues as a new run, well under Temporal's limits: a noisy rule can
// fold thousands of alerts into one incident.
const DefaultMaxHistoryEvents = 10_000

// InterpreterOptions tune the interpreter.
type InterpreterOptions struct {
	// MaxHistoryEvents overrides DefaultMaxHistoryEvents.
	MaxHistoryEvents int
}

// Interpreter runs playbooks as workflows. It caches compiled playbooks by
// content hash; compiling is pure, so the cache does not affect replay.
type Interpreter struct {
	compiler         *playbooks.Compiler
	maxHistoryEvents int
	mu               sync.Mutex
	compiled         map[string]*playbooks.Compiled
}

// NewInterpreter returns an interpreter that compiles with compiler.
func NewInterpreter(compiler *playbooks.Compiler, opts InterpreterOptions) *Interpreter {
	if opts.MaxHistoryEvents <= 0 {
		opts.MaxHistoryEvents = DefaultMaxHistoryEvents
	}
	return &Interpreter{compiler: compiler, maxHistoryEvents: opts.MaxHistoryEvents, compiled: map[string]*playbooks.Compiled{}}
}

func (in *Interpreter) compile(pb *playbooks.Playbook) (*playbooks.Compiled, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if c, ok := in.compiled[pb.Hash]; ok && pb.Hash != "" {
		return c, nil
	}
	c, diags := in.compiler.Compile(pb)
	if len(diags) > 0 {
		return nil, fmt.Errorf("playbook %q does not compile: %w", pb.ID, diags)
	}
	in.compiled[pb.Hash] = c
	return c, nil
}

// Run is the workflow: it runs the playbook's steps, then keeps the
// incident open, folding repeated alerts, until it is resolved.
func (in *Interpreter) Run(ctx workflow.Context, input Input) (*Status, error) {
	compiled, err := in.compile(&input.Playbook)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "BadPlaybook", err)
	}
	inc := newIncident(ctx, compiled, input)
	if err := inc.registerHandlers(ctx); err != nil {
		return nil, err
	}

	if input.Resumed != nil {
		inc.resume(ctx, input.Resumed)
	} else {
		inc.recordState(ctx, StateRunning)
		if failed := inc.runSteps(ctx, input.Playbook.Steps, nil); failed != nil {
			inc.fail(ctx, failed)
		} else {
			inc.setState(ctx, inc.settledState())
		}
		if after := input.Playbook.AutoResolveAfter.Std(); after > 0 {
			inc.autoResolveAt = workflow.Now(ctx).Add(after)
		}
	}

	// The incident stays open, folding repeated alerts, until it is resolved.
	// When its history grows long it continues as a new run with its state.
	historyLong := func() bool {
		info := workflow.GetInfo(ctx)
		return (info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() >= in.maxHistoryEvents) &&
			inc.quiet(ctx)
	}
	wake := func() bool { return inc.resolveRequested() || historyLong() }
	autoResolve := func() {
		inc.resolution = &Resolution{By: "aisoar", Reason: "auto_resolve_after " + input.Playbook.AutoResolveAfter.String(), At: workflow.Now(ctx)}
	}
	switch remaining := inc.autoResolveAt.Sub(workflow.Now(ctx)); {
	case inc.autoResolveAt.IsZero():
		if err := workflow.Await(ctx, wake); err != nil {
			return nil, err
		}
	case remaining <= 0: // carried over past its deadline
		autoResolve()
	default:
		if ok, err := workflow.AwaitWithTimeout(ctx, remaining, wake); err != nil {
			return nil, err
		} else if !ok {
			autoResolve()
		}
	}
	if !inc.resolveRequested() {
		inc.drainAlerts(ctx)
		next := input
		next.Resumed = inc.carry()
		workflow.GetLogger(ctx).Info("incident continues as a new run", "history_events", workflow.GetInfo(ctx).GetCurrentHistoryLength())
		return nil, workflow.NewContinueAsNewError(ctx, WorkflowName, next)
	}
	inc.resolve(ctx)
	if err := workflow.Await(ctx, func() bool { return inc.quiet(ctx) }); err != nil {
		return nil, err
	}
	inc.drainAlerts(ctx)
	return inc.status, nil
}

// settledState is the state of an incident whose steps are done:
// contained when a containment action or a reversible step succeeded.
func (inc *incident) settledState() string {
	if slices.ContainsFunc(inc.done, func(s *playbooks.Step) bool { return s.Undo != nil || activities.IsContainment(s.Action) }) {
		return StateContained
	}
	return StateOpen
}

// quiet reports whether nothing runs besides the main loop: no update
// handler, no Slack message being kept current, no timed undo. Only then
// may the run end or continue as new.
func (inc *incident) quiet(ctx workflow.Context) bool {
	return workflow.AllHandlersFinished(ctx) && inc.slackPending == 0 && inc.undoing == 0
}

// incident is the state of one workflow run.
type incident struct {
	compiled   *playbooks.Compiled
	input      Input
	status     *Status
	steps      map[string]*StepStatus
	vars       *playbooks.Vars
	seen       map[string]bool
	alerts     workflow.ReceiveChannel
	resolution *Resolution
	// startSignalSeen is set once the signal that came with the start
	// (SignalWithStart delivers the first alert twice) has been dropped.
	startSignalSeen bool
	// autoResolveAt is when the incident resolves itself; zero for never.
	autoResolveAt time.Time
	// slackPending counts the goroutines keeping Slack messages current;
	// the run ends only when they are done. slackThread is the incident's
	// first Slack message, under which later ones are threaded.
	slackPending     int
	slackThread      *activities.SlackMessageRef
	slackThreadRoute string
	// done lists the completed steps in completion order, for undo.
	done []*playbooks.Step
	// undone marks the steps whose undo has run or is running; undoAt
	// holds when each undo with an `after` is due; undoing counts the
	// timed undos running now, which the run waits for before it ends.
	undone  map[string]bool
	undoAt  map[string]time.Time
	undoing int
	// reached marks the states the incident has been in, for metrics.
	reached map[string]bool
	// decisions receives the outcome of each approval, by step id.
	decisions map[string]*ApprovalStatus
}

func newIncident(ctx workflow.Context, compiled *playbooks.Compiled, input Input) *incident {
	pb := &input.Playbook
	now := workflow.Now(ctx)
	first := input.Alert.Received
	if first.IsZero() {
		first = now
	}
	alert := input.Alert
	alert.Raw = nil
	inc := &incident{
		compiled: compiled,
		input:    input,
		status: &Status{
			ID:           workflow.GetInfo(ctx).WorkflowExecution.ID,
			Playbook:     pb.ID,
			Version:      pb.Version,
			PlaybookHash: pb.Hash,
			State:        StateRunning,
			Alert:        alert,
			AlertCount:   1,
			Deliveries:   1,
			FirstSeen:    first,
			LastSeen:     first,
			SourceStatus: input.Alert.Status,
			DryRun:       input.DryRun,
			Origin:       input.Origin,
		},
		steps:     map[string]*StepStatus{},
		seen:      map[string]bool{alertKey(&input.Alert): true},
		alerts:    workflow.GetSignalChannel(ctx, AlertSignal),
		decisions: map[string]*ApprovalStatus{},
		undone:    map[string]bool{},
		undoAt:    map[string]time.Time{},
		reached:   map[string]bool{},
	}
	inc.vars = playbooks.NewVars(&inc.input.Alert)
	inc.vars.SetAsset(input.Asset)
	inc.vars.SetPlaybook(playbooks.PlaybookInfo{ID: pb.ID, Version: int64(pb.Version), Title: pb.Title, Hash: pb.Hash, Source: pb.Source})
	var add func(group string, steps []playbooks.Step) []*StepStatus
	add = func(group string, steps []playbooks.Step) []*StepStatus {
		var list []*StepStatus
		for i := range steps {
			s := &steps[i]
			st := &StepStatus{ID: s.ID, Action: s.Action, Group: group, State: StepPending}
			list = append(list, st)
			inc.steps[s.ID] = st
			inc.vars.SetStep(s.ID, playbooks.StepState{})
			list = append(list, add(s.ID, s.Parallel)...)
		}
		return list
	}
	inc.status.Steps = add("", pb.Steps)
	for i := range pb.OnFailure {
		s := &pb.OnFailure[i]
		if s.ID == "" {
			s.ID = fmt.Sprintf("on_failure_%d", i+1)
		}
	}
	return inc
}

func (inc *incident) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (*Status, error) { return inc.status, nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, DecisionUpdate, inc.decide,
		workflow.UpdateHandlerOptions{Validator: inc.validateDecision}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, ResolveUpdate, inc.requestResolve,
		workflow.UpdateHandlerOptions{Validator: inc.validateResolve}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, ReclassifyUpdate, inc.reclassify,
		workflow.UpdateHandlerOptions{Validator: inc.validateReclassify}); err != nil {
		return err
	}
	// Alerts wait in the channel until this goroutine folds them, so one
	// that arrives as the run ends is still there for drainAlerts.
	workflow.Go(ctx, func(ctx workflow.Context) {
		for workflow.Await(ctx, func() bool { return inc.alerts.Len() > 0 }) == nil {
			inc.drainAlerts(ctx)
		}
	})
	return nil
}

// fold records a repeated alert in the open incident.
func (inc *incident) fold(ctx workflow.Context, a alerts.Alert) {
	key := alertKey(&a)
	if key == alertKey(&inc.input.Alert) && !inc.startSignalSeen {
		inc.startSignalSeen = true
		return
	}
	inc.status.Deliveries++
	if inc.seen[key] {
		inc.status.Redeliveries++
		return
	}
	if len(inc.seen) < maxSeenAlerts {
		inc.seen[key] = true
	}
	inc.status.AlertCount++
	inc.status.LastSeen = a.Received
	if inc.status.LastSeen.IsZero() {
		inc.status.LastSeen = workflow.Now(ctx)
	}
	if a.Status != "" {
		inc.status.SourceStatus = a.Status
	}
	workflow.GetLogger(ctx).Info("alert folded into incident", "alert", a.ID, "count", inc.status.AlertCount)
}

// alertKey tells deliveries apart: a redelivery repeats an alert's id and
// status; a resolved notice keeps the id of the alert it resolves.
func alertKey(a *alerts.Alert) string { return a.ID + "\x00" + a.Status }

// drainAlerts folds the alerts that arrived after the last workflow task,
// so none is lost when the run completes.
func (inc *incident) drainAlerts(ctx workflow.Context) {
	for {
		var a alerts.Alert
		if !inc.alerts.ReceiveAsync(&a) {
			return
		}
		inc.fold(ctx, a)
	}
}

func (inc *incident) setState(ctx workflow.Context, state string) {
	inc.recordState(ctx, state)
	inc.status.State = state
	if err := workflow.UpsertTypedSearchAttributes(ctx, SearchStatus.ValueSet(state)); err != nil {
		workflow.GetLogger(ctx).Warn("could not record incident status", "error", err)
	}
}

// stepFailure is a step that failed for good and stopped the playbook.
type stepFailure struct {
	step string
	err  error
}

// runSteps runs steps in order and returns the first failure that stops
// the playbook.
func (inc *incident) runSteps(ctx workflow.Context, steps []playbooks.Step, failure *playbooks.Failure) *stepFailure {
	for i := range steps {
		if f := inc.runStep(ctx, &steps[i], failure); f != nil {
			return f
		}
	}
	return nil
}

func (inc *incident) runStep(ctx workflow.Context, s *playbooks.Step, failure *playbooks.Failure) *stepFailure {
	st := inc.stepStatus(s)
	if inc.resolution != nil {
		inc.skip(ctx, s, st, StepSkipped, "the incident was resolved first")
		return nil
	}
	inc.refreshVars(ctx)
	run, err := inc.compiled.Condition(s.When, inc.vars)
	if err != nil {
		return inc.finish(ctx, s, st, nil, fmt.Errorf("condition: %w", err))
	}
	if !run {
		inc.skip(ctx, s, st, StepSkipped, "condition is false")
		return nil
	}
	if s.Approval != nil {
		if approved, reason := inc.awaitApproval(ctx, s, st); !approved {
			inc.skip(ctx, s, st, StepRejected, reason)
			return nil
		}
	}
	st.State, st.Started = StepRunning, workflow.Now(ctx)
	if s.Parallel != nil {
		return inc.runParallel(ctx, s, st, failure)
	}
	output, err := inc.runAction(ctx, s)
	return inc.finish(ctx, s, st, output, err)
}

// runAction renders the step's parameters and runs its action. In a dry
// run every action is told so, and records what it would do instead.
func (inc *incident) runAction(ctx workflow.Context, s *playbooks.Step) (map[string]any, error) {
	inc.refreshVars(ctx)
	params, err := inc.compiled.RenderParams(s.With, inc.vars)
	if err != nil {
		return nil, fmt.Errorf("parameters: %w", err)
	}
	if inc.input.DryRun {
		params[activities.DryRunParam] = true
	}
	var output map[string]any
	err = workflow.ExecuteActivity(inc.activityContext(ctx, s), s.Action, params).Get(ctx, &output)
	return output, err
}

// stepStatus returns the status entry of s, creating one for steps that
// are not listed up front (on_failure handlers).
func (inc *incident) stepStatus(s *playbooks.Step) *StepStatus {
	if st, ok := inc.steps[s.ID]; ok {
		return st
	}
	st := &StepStatus{ID: s.ID, Action: s.Action, State: StepPending}
	inc.steps[s.ID] = st
	inc.status.OnFailure = append(inc.status.OnFailure, st)
	return st
}

func (inc *incident) runParallel(ctx workflow.Context, s *playbooks.Step, st *StepStatus, failure *playbooks.Failure) *stepFailure {
	results := make([]*stepFailure, len(s.Parallel))
	pending := len(s.Parallel)
	for i := range s.Parallel {
		workflow.Go(ctx, func(ctx workflow.Context) {
			results[i] = inc.runStep(ctx, &s.Parallel[i], failure)
			pending--
		})
	}
	if err := workflow.Await(ctx, func() bool { return pending == 0 }); err != nil {
		return inc.finish(ctx, s, st, nil, err)
	}
	for _, f := range results {
		if f != nil {
			return inc.finish(ctx, s, st, nil, fmt.Errorf("step %q failed: %w", f.step, f.err))
		}
	}
	return inc.finish(ctx, s, st, nil, nil)
}

// finish records a step's outcome; it returns a failure when the step
// failed and may not be passed over.
func (inc *incident) finish(ctx workflow.Context, s *playbooks.Step, st *StepStatus, output map[string]any, err error) *stepFailure {
	st.Ended = workflow.Now(ctx)
	if st.Started.IsZero() {
		st.Started = st.Ended
	}
	if s.Action != "" {
		defer inc.recordStep(ctx, s, st)
	}
	logger := workflow.GetLogger(ctx)
	if err != nil {
		st.State, st.Error = StepFailed, errorMessage(err)
		inc.vars.SetStep(s.ID, playbooks.StepState{Error: st.Error})
		logger.Warn("step failed", "step", s.ID, "action", s.Action, "error", st.Error)
		if s.ContinueOnError {
			return nil
		}
		return &stepFailure{step: s.ID, err: err}
	}
	st.State, st.Output = StepDone, output
	inc.vars.SetStep(s.ID, playbooks.StepState{OK: true, Output: output})
	inc.done = append(inc.done, s)
	if s.Undo != nil && s.Undo.After > 0 {
		inc.scheduleUndo(ctx, s, workflow.Now(ctx).Add(s.Undo.After.Std()))
	}
	logger.Info("step done", "step", s.ID, "action", s.Action)
	return nil
}

func (inc *incident) skip(ctx workflow.Context, s *playbooks.Step, st *StepStatus, state, reason string) {
	st.State, st.Reason, st.Ended = state, reason, workflow.Now(ctx)
	inc.vars.SetStep(s.ID, playbooks.StepState{Skipped: true})
	for i := range s.Parallel {
		child := &s.Parallel[i]
		inc.skip(ctx, child, inc.stepStatus(child), StepSkipped, "its group was "+state)
	}
	workflow.GetLogger(ctx).Info("step "+state, "step", s.ID, "reason", reason)
}

// refreshVars brings the incident and clock variables up to date before an
// evaluation.
func (inc *incident) refreshVars(ctx workflow.Context) {
	inc.vars.SetNow(workflow.Now(ctx))
	info := playbooks.IncidentInfo{
		ID:         inc.status.ID,
		AlertCount: int64(inc.status.AlertCount),
		FirstSeen:  inc.status.FirstSeen,
		LastSeen:   inc.status.LastSeen,
	}
	if t := inc.slackThread; t != nil {
		info.SlackChannel, info.SlackThread = t.Channel, t.TS
	}
	inc.vars.SetIncident(info)
}

// fail runs the on_failure handlers after a step failed for good.
func (inc *incident) fail(ctx workflow.Context, f *stepFailure) {
	failure := &playbooks.Failure{Step: f.step, Error: errorMessage(f.err)}
	inc.status.Failure = failure
	inc.vars.SetFailure(*failure)
	inc.setState(ctx, StateFailed)
	for _, s := range inc.status.Steps {
		if s.State == StepPending {
			s.State, s.Reason = StepSkipped, fmt.Sprintf("step %q failed", f.step)
		}
	}
	if handlerFailed := inc.runSteps(ctx, inc.input.Playbook.OnFailure, failure); handlerFailed != nil {
		workflow.GetLogger(ctx).Error("on_failure handler failed", "step", handlerFailed.step, "error", handlerFailed.err)
	}
}

// activityContext applies a step's timeout and retry policy.
func (inc *incident) activityContext(ctx workflow.Context, s *playbooks.Step) workflow.Context {
	timeout := s.Timeout.Std()
	if timeout == 0 {
		timeout = DefaultStepTimeout
	}
	// An action that heartbeats is given up on when its heartbeats stop, so
	// a lost worker is noticed long before a long step's timeout.
	var heartbeat time.Duration
	if spec, ok := inc.compiled.Action(s.Action); ok && spec.Heartbeat.Std() < timeout {
		heartbeat = spec.Heartbeat.Std()
	}
	policy := &temporal.RetryPolicy{MaximumAttempts: DefaultMaxAttempts, InitialInterval: time.Second}
	if r := s.Retry; r != nil {
		if r.MaxAttempts > 0 {
			policy.MaximumAttempts = int32(r.MaxAttempts)
		}
		if r.InitialInterval > 0 {
			policy.InitialInterval = r.InitialInterval.Std()
		}
		policy.MaximumInterval = r.MaxInterval.Std()
		policy.BackoffCoefficient = r.BackoffCoefficient
	}
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ActivityID:          s.ID,
		StartToCloseTimeout: timeout,
		HeartbeatTimeout:    heartbeat,
		RetryPolicy:         policy,
	})
}

// errorMessage unwraps Temporal's activity error to the action's own message.
func errorMessage(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Error()
	}
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) {
		return "timed out (" + timeoutErr.TimeoutType().String() + ")"
	}
	return err.Error()
}
