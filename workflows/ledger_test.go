package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/aisoar/aisoar/activities"
	"github.com/aisoar/aisoar/workflows"
)

func TestLedgerAdd(t *testing.T) {
	verdict := func(v string) map[string]workflows.Verdict {
		return map[string]workflows.Verdict{"fraud": {Verdict: v, Reason: v + " reason"}}
	}
	tests := []struct {
		name string
		add  []workflows.LedgerDay
		want string
	}{
		{"counts add up", []workflows.LedgerDay{
			{Day: "2026-03-02", Alerts: map[string]int{"fraud": 1}},
			{Day: "2026-03-02", Alerts: map[string]int{"fraud": 2, "feed": 1}, Deliveries: map[string]int{"feed/tx": 1}},
		}, `{"days":[{"day":"2026-03-02","alerts":{"feed":1,"fraud":3},"deliveries":{"feed/tx":1}}]}`},
		{"days stay in order", []workflows.LedgerDay{
			{Day: "2026-03-03", Heartbeats: map[string]int{"fraud": 1}},
			{Day: "2026-03-01", Heartbeats: map[string]int{"fraud": 1}},
			{Day: "2026-03-02", Heartbeats: map[string]int{"fraud": 1}},
		}, `{"days":[{"day":"2026-03-01","heartbeats":{"fraud":1}},{"day":"2026-03-02","heartbeats":{"fraud":1}},{"day":"2026-03-03","heartbeats":{"fraud":1}}]}`},
		{"a failed re-attestation outlasts a later pass", []workflows.LedgerDay{
			{Day: "2026-03-02", Verdicts: verdict("mismatch")},
			{Day: "2026-03-02", Verdicts: verdict("verified")},
		}, `{"days":[{"day":"2026-03-02","verdicts":{"fraud":{"verdict":"mismatch","reason":"mismatch reason"}}}]}`},
		{"the worst verdict of the day wins", []workflows.LedgerDay{
			{Day: "2026-03-02", Verdicts: verdict("verified")},
			{Day: "2026-03-02", Verdicts: verdict("error")},
			{Day: "2026-03-02", Verdicts: verdict("unsigned")},
			{Day: "2026-03-02", Verdicts: verdict("error")},
		}, `{"days":[{"day":"2026-03-02","verdicts":{"fraud":{"verdict":"unsigned","reason":"unsigned reason"}}}]}`},
	}
	for _, tt := range tests {
		var l workflows.Ledger
		for _, d := range tt.add {
			l.Add(d)
		}
		got, _ := json.Marshal(l)
		if string(got) != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestLedgerPruneAndRange(t *testing.T) {
	var l workflows.Ledger
	today := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for _, d := range []time.Time{today.AddDate(0, 0, -workflows.LedgerRetentionDays-1), today.AddDate(0, 0, -workflows.LedgerRetentionDays), today.AddDate(0, 0, -1), today} {
		l.Add(workflows.LedgerDay{Day: workflows.Day(d), Alerts: map[string]int{"m": 1}})
	}
	l.Prune(today)
	if len(l.Days) != 3 || l.Days[0].Day != workflows.Day(today.AddDate(0, 0, -workflows.LedgerRetentionDays)) {
		t.Errorf("after pruning: %+v, want the last %d days kept", l.Days, workflows.LedgerRetentionDays)
	}
	r := l.Range(workflows.LedgerRange{From: "2026-03-09"})
	if len(r.Days) != 2 || r.Days[0].Day != "2026-03-09" {
		t.Errorf("range from 2026-03-09 = %+v", r.Days)
	}
	if got := l.Get("2026-03-08"); !got.Empty() || got.Day != "2026-03-08" {
		t.Errorf("a day without records = %+v, want empty", got)
	}
}

// TestLedgerWorkflow signals days to the ledger workflow and reads them
// back through its query, as the server does.
func TestLedgerWorkflow(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.RunLedger, workflow.RegisterOptions{Name: workflows.LedgerWorkflowName})
	day := workflows.Day(env.Now())
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.LedgerSignal, workflows.LedgerDay{Day: day, Alerts: map[string]int{"fraud": 1}})
		env.SignalWorkflow(workflows.LedgerSignal, workflows.LedgerDay{Day: day, Alerts: map[string]int{"fraud": 1}})
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		value, err := env.QueryWorkflow(workflows.LedgerQuery, workflows.LedgerRange{From: day})
		if err != nil {
			t.Fatal(err)
		}
		var l workflows.Ledger
		if err := value.Get(&l); err != nil {
			t.Fatal(err)
		}
		if len(l.Days) != 1 || l.Days[0].Alerts["fraud"] != 2 {
			t.Errorf("ledger = %+v, want two alerts for fraud on %s", l.Days, day)
		}
		env.CancelWorkflow()
	}, 2*time.Minute)
	env.ExecuteWorkflow(workflows.LedgerWorkflowName, workflows.Ledger{})
	if !env.IsWorkflowCompleted() {
		t.Fatal("the ledger did not stop when cancelled")
	}
}

// TestReattest checks every model the inventory lists and records each
// verdict; a check that fails is the verdict error, and a model whose
// artifact cannot be located is one without a check.
func TestReattest(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.Reattest, workflow.RegisterOptions{Name: workflows.ReattestWorkflowName})
	env.RegisterActivityWithOptions(func(context.Context) (activities.LoadInventoryResult, error) {
		return activities.LoadInventoryResult{Models: []activities.AttestationTarget{
			{Model: "good", Params: activities.VerifyArtifactParams{Digest: "sha256:good"}},
			{Model: "tampered", Params: activities.VerifyArtifactParams{Digest: "sha256:tampered"}},
			{Model: "unreachable", Params: activities.VerifyArtifactParams{Digest: "sha256:unreachable"}},
			{Model: "nowhere", Problem: "no location"},
		}}, nil
	}, activity.RegisterOptions{Name: activities.LoadInventory})
	env.RegisterActivityWithOptions(func(_ context.Context, p activities.VerifyArtifactParams) (activities.VerifyArtifactResult, error) {
		switch p.Digest {
		case "sha256:good":
			return activities.VerifyArtifactResult{Verdict: activities.VerdictVerified}, nil
		case "sha256:tampered":
			return activities.VerifyArtifactResult{Verdict: activities.VerdictMismatch, Reason: "digest differs"}, nil
		}
		return activities.VerifyArtifactResult{}, temporal.NewNonRetryableApplicationError("verify_artifact: the store answered 403", "StatusError", errors.New("403"))
	}, activity.RegisterOptions{Name: "verify_artifact"})
	var recorded workflows.LedgerDay
	env.RegisterActivityWithOptions(func(_ context.Context, d workflows.LedgerDay) error {
		recorded = d
		return nil
	}, activity.RegisterOptions{Name: workflows.LedgerRecordActivity})

	env.ExecuteWorkflow(workflows.ReattestWorkflowName)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	want := map[string]workflows.Verdict{
		"good":        {Verdict: "verified"},
		"tampered":    {Verdict: "mismatch", Reason: "digest differs"},
		"unreachable": {Verdict: "error", Reason: "verify_artifact: the store answered 403"},
		"nowhere":     {Verdict: "error", Reason: "no location"},
	}
	got, _ := json.Marshal(recorded.Verdicts)
	wantJSON, _ := json.Marshal(want)
	if string(got) != string(wantJSON) || recorded.Day != workflows.Day(env.Now()) {
		t.Errorf("recorded %s on %s, want %s on %s", got, recorded.Day, wantJSON, workflows.Day(env.Now()))
	}
}
