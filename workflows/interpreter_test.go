package workflows_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/aisoar/aisoar/activities"
	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/playbooks"
	"github.com/aisoar/aisoar/workflows"
)

// roles are the approvers every test incident is opened with.
var roles = map[string][]string{"soc": {"alice", "bob", "carol"}, "soc-lead": {"dana", "erin"}}

func loadPlaybook(t *testing.T, file string) playbooks.Playbook {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	c := newCompiler(t)
	compiled, diags := c.Load(file, data)
	if diags != nil {
		t.Fatalf("playbook does not load:\n%v", diags)
	}
	return *compiled.Playbook
}

func newCompiler(t *testing.T) *playbooks.Compiler {
	t.Helper()
	c, err := playbooks.NewCompiler(playbooks.CompilerOptions{Catalog: activities.Catalog()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func extractionAlert(severity int64) alerts.Alert {
	return alerts.Alert{
		ID: "a-1", Source: "test", Rule: "token-spike", Title: "Token spike", Severity: severity,
		Category: "model_extraction", Status: "firing", Techniques: []string{"AML.T0024"},
		Asset: alerts.Asset{Model: "fraud-scorer", KeyID: "key-7f3a"},
	}
}

// httpCalls records the http action's calls; fail makes calls to URLs
// containing a key fail with a non-retryable error.
type httpCalls struct {
	urls    []string
	dryRuns []bool
	fail    map[string]bool
}

func (h *httpCalls) run(_ context.Context, p activities.HTTPParams) (activities.HTTPResult, error) {
	h.urls = append(h.urls, p.URL)
	h.dryRuns = append(h.dryRuns, p.DryRun.DryRun)
	for key := range h.fail {
		if strings.Contains(p.URL, key) {
			return activities.HTTPResult{}, temporal.NewApplicationError("gateway answered 503", "HTTPStatus")
		}
	}
	return activities.HTTPResult{Status: 200, Body: map[string]any{"ok": true}}, nil
}

type harness struct {
	env  *testsuite.TestWorkflowEnvironment
	http *httpCalls
	in   workflows.Input
}

func newHarness(t *testing.T, pb playbooks.Playbook, alert alerts.Alert) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.NewInterpreter(newCompiler(t), workflows.InterpreterOptions{}).Run, workflow.RegisterOptions{Name: workflows.WorkflowName})
	reg := activities.NewRegistry(activities.Options{Logger: slog.New(slog.DiscardHandler)})
	reg.Register(env)
	h := &harness{env: env, http: &httpCalls{fail: map[string]bool{}},
		in: workflows.Input{Playbook: pb, Alert: alert, Roles: roles}}
	env.RegisterActivityWithOptions(h.http.run, activity.RegisterOptions{Name: "http"})
	return h
}

// at schedules fn at a point of workflow time.
func (h *harness) at(d time.Duration, fn func()) { h.env.RegisterDelayedCallback(fn, d) }

// decide sends a decision and records whether the validator refused it.
func (h *harness) decide(t *testing.T, d workflows.Decision, wantRefusal string) {
	h.env.UpdateWorkflow(workflows.DecisionUpdate, "", &testsuite.TestUpdateCallback{
		OnAccept: func() {
			if wantRefusal != "" {
				t.Errorf("decision %+v accepted, want refusal %q", d, wantRefusal)
			}
		},
		OnReject: func(err error) {
			if wantRefusal == "" || !strings.Contains(err.Error(), wantRefusal) {
				t.Errorf("decision %+v refused with %q, want %q", d, err, wantRefusal)
			}
		},
		OnComplete: func(any, error) {},
	}, d)
}

func (h *harness) resolve(t *testing.T, by string) {
	h.env.UpdateWorkflow(workflows.ResolveUpdate, "", &testsuite.TestUpdateCallback{
		OnAccept: func() {}, OnReject: func(err error) { t.Errorf("resolve refused: %v", err) }, OnComplete: func(any, error) {},
	}, workflows.Resolution{By: by})
}

func (h *harness) run(t *testing.T) *workflows.Status {
	t.Helper()
	h.env.ExecuteWorkflow(workflows.WorkflowName, h.in)
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var status workflows.Status
	if err := h.env.GetWorkflowResult(&status); err != nil {
		t.Fatal(err)
	}
	return &status
}

func stepStates(s *workflows.Status) map[string]string {
	states := map[string]string{}
	for _, st := range append(append(slices.Clone(s.Steps), s.OnFailure...), s.Undo...) {
		states[st.ID] = st.State
	}
	return states
}

func step(s *workflows.Status, id string) *workflows.StepStatus {
	for _, st := range append(append(slices.Clone(s.Steps), s.OnFailure...), s.Undo...) {
		if st.ID == id {
			return st
		}
	}
	return nil
}

func TestPlaybookRuns(t *testing.T) {
	approve := func(who string) workflows.Decision {
		return workflows.Decision{Step: "rotate", Approver: who, Approve: true}
	}
	tests := []struct {
		name     string
		severity int64
		// mutate changes the playbook for this case.
		mutate func(pb *playbooks.Playbook)
		// script runs against the harness before the workflow starts.
		script     func(t *testing.T, h *harness)
		wantStates map[string]string
		wantReason map[string]string
		wantHTTP   []string
		check      func(t *testing.T, s *workflows.Status)
	}{
		{
			name:     "two approvals run the step, undo runs in reverse",
			severity: 4,
			script: func(t *testing.T, h *harness) {
				h.at(time.Minute, func() { h.decide(t, approve("alice"), "") })
				h.at(2*time.Minute, func() { h.decide(t, approve("bob"), "") })
				h.at(time.Hour, func() { h.resolve(t, "alice") })
			},
			wantStates: map[string]string{
				"evidence": "done", "low_severity_only": "skipped", "contain": "done", "throttle": "done", "tell": "done",
				"rotate": "done", "done": "done", "undo_rotate": "done", "undo_throttle": "done",
			},
			wantHTTP: []string{"http://gateway.test/keys/key-7f3a/limit", "http://vault.test/rotate", "http://gateway.test/keys/key-7f3a/limit"},
			check: func(t *testing.T, s *workflows.Status) {
				if got := []string{s.Undo[0].ID, s.Undo[1].ID}; !slices.Equal(got, []string{"undo_rotate", "undo_throttle"}) {
					t.Errorf("undo order = %v, want the reverse of completion", got)
				}
				if got := step(s, "done").Output["delivered"]; got != "log" {
					t.Errorf("notify output = %v", step(s, "done").Output)
				}
				if got := step(s, "evidence").Output["model"]; got != "fraud-scorer" {
					t.Errorf("evidence output model = %v", got)
				}
				if a := step(s, "rotate").Approval; a.Outcome != "approved" || len(a.Decisions) != 2 || a.Message != "Rotate key key-7f3a?" {
					t.Errorf("approval = %+v", a)
				}
				if s.State != workflows.StateResolved || s.Resolution.By != "alice" {
					t.Errorf("state %s resolution %+v", s.State, s.Resolution)
				}
			},
		},
		{
			name:     "condition false skips the approval step",
			severity: 3,
			script:   func(t *testing.T, h *harness) { h.at(time.Hour, func() { h.resolve(t, "alice") }) },
			wantStates: map[string]string{
				"evidence": "done", "low_severity_only": "skipped", "throttle": "done", "rotate": "skipped", "done": "done",
			},
			wantHTTP: []string{"http://gateway.test/keys/key-7f3a/limit", "http://gateway.test/keys/key-7f3a/limit"},
		},
		{
			name:     "a rejection skips the step and later steps see it",
			severity: 5,
			script: func(t *testing.T, h *harness) {
				h.at(time.Minute, func() {
					h.decide(t, workflows.Decision{Step: "rotate", Approver: "carol", Approve: false, Reason: "key is shared"}, "")
				})
				h.at(time.Hour, func() { h.resolve(t, "alice") })
			},
			wantStates: map[string]string{"rotate": "rejected", "done": "done", "undo_throttle": "done"},
			wantReason: map[string]string{"rotate": "rejected by carol: key is shared"},
			wantHTTP:   []string{"http://gateway.test/keys/key-7f3a/limit", "http://gateway.test/keys/key-7f3a/limit"},
		},
		{
			name:     "validator refuses non-approvers, duplicates, unknown and idle steps",
			severity: 4,
			script: func(t *testing.T, h *harness) {
				h.at(time.Second, func() { h.decide(t, approve("mallory"), `mallory is not an approver in role "soc"`) })
				h.at(2*time.Second, func() {
					h.decide(t, workflows.Decision{Step: "nope", Approver: "alice", Approve: true}, `no step "nope"`)
				})
				h.at(3*time.Second, func() {
					h.decide(t, workflows.Decision{Step: "done", Approver: "alice", Approve: true}, `step "done" is not waiting`)
				})
				h.at(4*time.Second, func() { h.decide(t, approve("alice"), "") })
				h.at(5*time.Second, func() { h.decide(t, approve("alice"), "alice has already decided") })
				h.at(6*time.Second, func() { h.decide(t, approve("dana"), `dana is not an approver in role "soc"`) })
				h.at(7*time.Second, func() { h.decide(t, approve("bob"), "") })
				h.at(8*time.Second, func() { h.decide(t, approve("carol"), "already decided: approved") })
				h.at(time.Hour, func() { h.resolve(t, "alice") })
			},
			wantStates: map[string]string{"rotate": "done"},
		},
		{
			name:     "the requester cannot approve under two-person",
			severity: 4,
			script: func(t *testing.T, h *harness) {
				h.in.RequestedBy = "alice"
				h.at(time.Second, func() { h.decide(t, approve("alice"), "alice requested this incident") })
				h.at(2*time.Second, func() { h.decide(t, approve("bob"), "") })
				h.at(3*time.Second, func() { h.decide(t, approve("carol"), "") })
				h.at(time.Hour, func() { h.resolve(t, "bob") })
			},
			wantStates: map[string]string{"rotate": "done"},
		},
		{
			name:     "timeout escalates to the next role, who approves",
			severity: 4,
			script: func(t *testing.T, h *harness) {
				h.at(31*time.Minute, func() { h.decide(t, approve("dana"), "") })
				// Two-person still holds after escalation, with the new role.
				h.at(32*time.Minute, func() { h.decide(t, approve("alice"), `alice is not an approver in role "soc-lead"`) })
				h.at(33*time.Minute, func() { h.decide(t, approve("erin"), "") })
				h.at(3*time.Hour, func() { h.resolve(t, "dana") })
			},
			wantStates: map[string]string{"rotate": "done"},
			check: func(t *testing.T, s *workflows.Status) {
				a := step(s, "rotate").Approval
				if !a.Escalated || a.Role != "soc-lead" {
					t.Errorf("approval = %+v, want escalated to soc-lead", a)
				}
			},
		},
		{
			name:       "no decision after escalation denies",
			severity:   4,
			script:     func(t *testing.T, h *harness) { h.at(3*time.Hour, func() { h.resolve(t, "alice") }) },
			wantStates: map[string]string{"rotate": "rejected", "done": "done"},
			check: func(t *testing.T, s *workflows.Status) {
				if a := step(s, "rotate").Approval; a.Outcome != "expired" || !a.Escalated {
					t.Errorf("approval = %+v, want expired after escalation", a)
				}
			},
		},
		{
			name:     "retry exhaustion runs on_failure and skips the rest",
			severity: 4,
			script: func(t *testing.T, h *harness) {
				h.http.fail["gateway"] = true
				h.at(time.Hour, func() { h.resolve(t, "alice") })
			},
			wantStates: map[string]string{
				"evidence": "done", "throttle": "failed", "tell": "done", "contain": "failed", "rotate": "skipped",
				"done": "skipped", "on_failure_1": "done",
			},
			wantHTTP: []string{"http://gateway.test/keys/key-7f3a/limit", "http://gateway.test/keys/key-7f3a/limit", "http://gateway.test/keys/key-7f3a/limit"},
			check: func(t *testing.T, s *workflows.Status) {
				if s.Failure == nil || s.Failure.Step != "contain" || !strings.Contains(s.Failure.Error, "gateway answered 503") {
					t.Errorf("failure = %+v", s.Failure)
				}
			},
		},
		{
			name:     "repeated alerts fold into the incident",
			severity: 3,
			script: func(t *testing.T, h *harness) {
				// The start signal of SignalWithStart repeats the first alert.
				h.at(time.Second, func() { h.env.SignalWorkflow(workflows.AlertSignal, extractionAlert(3)) })
				second := extractionAlert(3)
				second.ID = "a-2"
				h.at(time.Minute, func() { h.env.SignalWorkflow(workflows.AlertSignal, second) })
				h.at(2*time.Minute, func() { h.env.SignalWorkflow(workflows.AlertSignal, second) })
				// A resolved notice may keep the id of the alert it resolves.
				resolved := extractionAlert(3)
				resolved.ID, resolved.Status = "a-2", "resolved"
				h.at(3*time.Minute, func() { h.env.SignalWorkflow(workflows.AlertSignal, resolved) })
				h.at(time.Hour, func() { h.resolve(t, "alice") })
			},
			wantStates: map[string]string{"done": "done"},
			check: func(t *testing.T, s *workflows.Status) {
				if s.AlertCount != 3 || s.Redeliveries != 1 || s.Deliveries != 4 || s.SourceStatus != "resolved" {
					t.Errorf("count %d redeliveries %d deliveries %d source status %s, want 3, 1, 4, resolved", s.AlertCount, s.Redeliveries, s.Deliveries, s.SourceStatus)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pb := loadPlaybook(t, "testdata/containment.yaml")
			if tt.mutate != nil {
				tt.mutate(&pb)
			}
			h := newHarness(t, pb, extractionAlert(tt.severity))
			if tt.script != nil {
				tt.script(t, h)
			}
			status := h.run(t)
			states := stepStates(status)
			for id, want := range tt.wantStates {
				if states[id] != want {
					t.Errorf("step %s is %q, want %q (all: %v)", id, states[id], want, states)
				}
			}
			for id, want := range tt.wantReason {
				if got := step(status, id).Reason; got != want {
					t.Errorf("step %s reason %q, want %q", id, got, want)
				}
			}
			if tt.wantHTTP != nil && !slices.Equal(h.http.urls, tt.wantHTTP) {
				t.Errorf("http calls = %v, want %v", h.http.urls, tt.wantHTTP)
			}
			if tt.check != nil {
				tt.check(t, status)
			}
		})
	}
}

func TestAutoResolve(t *testing.T) {
	pb := loadPlaybook(t, "testdata/containment.yaml")
	pb.AutoResolveAfter = playbooks.Duration(24 * time.Hour)
	h := newHarness(t, pb, extractionAlert(3))
	status := h.run(t)
	if status.State != workflows.StateResolved || status.Resolution == nil || status.Resolution.By != "aisoar" {
		t.Fatalf("state %s resolution %+v, want auto-resolved", status.State, status.Resolution)
	}
	if got := stepStates(status)["undo_throttle"]; got != "done" {
		t.Errorf("undo_throttle = %q, want done", got)
	}
}

func TestBadPlaybookFailsTheRun(t *testing.T) {
	pb := loadPlaybook(t, "testdata/containment.yaml")
	pb.Steps[0].When = "alert.nope"
	pb.Hash = "changed"
	h := newHarness(t, pb, extractionAlert(3))
	h.env.ExecuteWorkflow(workflows.WorkflowName, h.in)
	var appErr *temporal.ApplicationError
	if err := h.env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != "BadPlaybook" {
		t.Fatalf("error = %v, want a BadPlaybook application error", err)
	}
}

// TestLongIncidentContinuesAsNew checks that an incident whose history grows
// long continues in a new run that keeps its counts and can still undo.
func TestLongIncidentContinuesAsNew(t *testing.T) {
	pb := loadPlaybook(t, "testdata/containment.yaml")
	h := newHarness(t, pb, extractionAlert(3))
	second := extractionAlert(3)
	second.ID = "a-2"
	h.at(time.Minute, func() { h.env.SignalWorkflow(workflows.AlertSignal, second) })
	h.at(2*time.Minute, func() { h.env.SetCurrentHistoryLength(workflows.DefaultMaxHistoryEvents) })
	h.env.ExecuteWorkflow(workflows.WorkflowName, h.in)

	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow ended with %v, want continue-as-new", err)
	}
	var next workflows.Input
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	// The parallel steps throttle and tell may complete in either order.
	done := next.Resumed.Done
	if next.Resumed.Status.AlertCount != 2 || len(done) != 5 || done[0] != "evidence" || done[3] != "contain" || done[4] != "done" ||
		!slices.Equal(slices.Sorted(slices.Values(done[1:3])), []string{"tell", "throttle"}) {
		t.Fatalf("carried %+v, want two alerts and the done steps in completion order", next.Resumed)
	}

	resumed := newHarness(t, pb, next.Alert)
	resumed.in = next
	resumed.at(time.Minute, func() { resumed.env.SignalWorkflow(workflows.AlertSignal, second) })
	resumed.at(2*time.Minute, func() { resumed.resolve(t, "alice") })
	status := resumed.run(t)
	if len(resumed.http.urls) != 1 || status.AlertCount != 2 || status.Redeliveries != 1 || stepStates(status)["undo_throttle"] != "done" {
		t.Errorf("resumed run: http %v, count %d, redeliveries %d, undo %q; want only the undo call, 2, 1, done",
			resumed.http.urls, status.AlertCount, status.Redeliveries, stepStates(status)["undo_throttle"])
	}
}

// TestUndoAfter checks that an undo with `after` lifts the containment on
// its own when due, once, and that resolving later does not undo it again;
// carried across continue-as-new, the pending undo still comes due.
func TestUndoAfter(t *testing.T) {
	pb := loadPlaybook(t, "testdata/containment.yaml")
	pb.Step("throttle").Undo.After = playbooks.Duration(time.Hour)
	undoURL := "http://gateway.test/keys/key-7f3a/limit"

	t.Run("due before resolution", func(t *testing.T) {
		h := newHarness(t, pb, extractionAlert(3))
		start := h.env.Now()
		h.at(3*time.Hour, func() { h.resolve(t, "alice") })
		status := h.run(t)
		undo := step(status, "undo_throttle")
		if undo == nil || undo.State != workflows.StepDone || undo.Started.Sub(start) < time.Hour || undo.Started.Sub(start) > 2*time.Hour {
			t.Fatalf("undo_throttle = %+v, want done an hour after the start", undo)
		}
		if calls := slices.DeleteFunc(slices.Clone(h.http.urls), func(u string) bool { return u != undoURL }); len(calls) != 2 {
			t.Errorf("gateway calls %v, want the throttle and one undo", h.http.urls)
		}
		if n := len(status.Undo); n != 1 {
			t.Errorf("%d undo entries, want 1: resolution must not undo again", n)
		}
	})

	t.Run("resolved first", func(t *testing.T) {
		h := newHarness(t, pb, extractionAlert(3))
		h.at(10*time.Minute, func() { h.resolve(t, "alice") })
		status := h.run(t)
		if got := stepStates(status)["undo_throttle"]; got != "done" || len(status.Undo) != 1 {
			t.Errorf("undo_throttle = %q with %d undo entries, want done once at resolution", got, len(status.Undo))
		}
	})

	t.Run("carried across continue-as-new", func(t *testing.T) {
		h := newHarness(t, pb, extractionAlert(3))
		h.at(10*time.Minute, func() { h.env.SetCurrentHistoryLength(workflows.DefaultMaxHistoryEvents) })
		h.env.ExecuteWorkflow(workflows.WorkflowName, h.in)
		var can *workflow.ContinueAsNewError
		if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
			t.Fatalf("workflow ended with %v, want continue-as-new", err)
		}
		var next workflows.Input
		if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
			t.Fatal(err)
		}
		if _, ok := next.Resumed.UndoAt["throttle"]; !ok {
			t.Fatalf("carried %+v, want the pending undo of throttle", next.Resumed)
		}
		resumed := newHarness(t, pb, next.Alert)
		resumed.in = next
		resumed.at(3*time.Hour, func() { resumed.resolve(t, "alice") })
		status := resumed.run(t)
		if !slices.Equal(resumed.http.urls, []string{undoURL}) || len(status.Undo) != 1 {
			t.Errorf("resumed run called %v with %d undo entries, want the one undo", resumed.http.urls, len(status.Undo))
		}
	})
}

// TestDryRunTellsEveryAction checks that a dry-run incident passes the
// dry-run flag to each action, undo included.
func TestDryRunTellsEveryAction(t *testing.T) {
	pb := loadPlaybook(t, "testdata/containment.yaml")
	h := newHarness(t, pb, extractionAlert(3))
	h.in.DryRun = true
	h.at(time.Minute, func() { h.resolve(t, "alice") })
	h.run(t)
	if len(h.http.urls) != 2 || len(h.http.dryRuns) != 2 || slices.Contains(h.http.dryRuns, false) {
		t.Errorf("http calls %v with dry-run flags %v, want throttle and its undo, both dry", h.http.urls, h.http.dryRuns)
	}
}

// TestLongActionsHeartbeat checks that an action that declares a heartbeat
// is scheduled with it as its heartbeat timeout, unless the step's own
// timeout is shorter, and that other actions get none.
func TestLongActionsHeartbeat(t *testing.T) {
	evidence := map[string]any{"items": []any{map[string]any{"name": "alert", "value": "x"}}}
	tests := []struct {
		action, timeout string
		with            map[string]any
		want            time.Duration
	}{
		{"snapshot_evidence", "30m", evidence, 2 * time.Minute},
		{"snapshot_evidence", "1m", evidence, 0},
		{"notify", "30m", map[string]any{"text": "x"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.action+" "+tt.timeout, func(t *testing.T) {
			pb := loadPlaybook(t, "testdata/containment.yaml")
			pb.Steps = []playbooks.Step{{ID: "long", Action: tt.action, Timeout: mustDuration(t, tt.timeout), With: tt.with}}
			pb.Hash = "heartbeat-" + tt.action + tt.timeout
			h := newHarness(t, pb, extractionAlert(3))
			h.env.RegisterActivityWithOptions(func(context.Context, map[string]any) (map[string]any, error) { return nil, nil },
				activity.RegisterOptions{Name: tt.action})
			var got time.Duration
			h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
				got = info.HeartbeatTimeout
			})
			h.at(time.Minute, func() { h.resolve(t, "alice") })
			h.run(t)
			if got != tt.want {
				t.Errorf("heartbeat timeout %v, want %v", got, tt.want)
			}
		})
	}
}

func mustDuration(t *testing.T, s string) playbooks.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return playbooks.Duration(d)
}
