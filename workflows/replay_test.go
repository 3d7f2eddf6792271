package workflows_test

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/aisoar/aisoar/activities"
	"github.com/aisoar/aisoar/devserver"
	"github.com/aisoar/aisoar/workflows"
)

var update = flag.Bool("update", false, "record the replay histories under testdata/histories from an embedded Temporal server")

// replayScenario drives one incident on a real server; its history is
// recorded with -update and replayed by every test run, proving the
// interpreter is deterministic for it.
type replayScenario struct {
	name     string
	severity int64
	failHTTP bool
	// drive sends decisions and the resolve once the run is waiting.
	drive func(t *testing.T, c client.Client, id string)
}

var replayScenarios = []replayScenario{
	{name: "approved-then-resolved", severity: 4, drive: func(t *testing.T, c client.Client, id string) {
		decide(t, c, id, workflows.Decision{Step: "rotate", Approver: "alice", Approve: true})
		decide(t, c, id, workflows.Decision{Step: "rotate", Approver: "bob", Approve: true})
		resolve(t, c, id)
	}},
	{name: "rejected", severity: 5, drive: func(t *testing.T, c client.Client, id string) {
		decide(t, c, id, workflows.Decision{Step: "rotate", Approver: "carol", Approve: false, Reason: "shared key"})
		resolve(t, c, id)
	}},
	{name: "action-failed", severity: 4, failHTTP: true, drive: func(t *testing.T, c client.Client, id string) {
		resolve(t, c, id)
	}},
}

func TestReplayRecordedHistories(t *testing.T) {
	if *update {
		recordHistories(t)
	}
	for _, sc := range replayScenarios {
		t.Run(sc.name, func(t *testing.T) {
			replayer := worker.NewWorkflowReplayer()
			replayer.RegisterWorkflowWithOptions(workflows.NewInterpreter(newCompiler(t), workflows.InterpreterOptions{}).Run, workflow.RegisterOptions{Name: workflows.WorkflowName})
			file := filepath.Join("testdata", "histories", sc.name+".json")
			if err := replayer.ReplayWorkflowHistoryFromJSONFile(nil, file); err != nil {
				t.Fatalf("replaying %s: %v (if the change is intended, version it or re-record with -update)", file, err)
			}
		})
	}
}

func recordHistories(t *testing.T) {
	srv, err := devserver.Start(devserver.Options{Ephemeral: true, UIPort: -1, SearchAttributes: workflows.SearchAttributes(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	c, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Namespace: srv.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pb := loadPlaybook(t, "testdata/containment.yaml")
	for _, sc := range replayScenarios {
		queue := "replay-" + sc.name
		w := worker.New(c, queue, worker.Options{})
		w.RegisterWorkflowWithOptions(workflows.NewInterpreter(newCompiler(t), workflows.InterpreterOptions{}).Run, workflow.RegisterOptions{Name: workflows.WorkflowName})
		activities.NewRegistry(activities.Options{Logger: slog.New(slog.DiscardHandler)}).Register(w)
		calls := &httpCalls{fail: map[string]bool{}}
		if sc.failHTTP {
			calls.fail["gateway"] = true
		}
		w.RegisterActivityWithOptions(calls.run, activity.RegisterOptions{Name: "http", DisableAlreadyRegisteredCheck: true})
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		id := "replay/" + sc.name
		input := workflows.Input{Playbook: pb, Alert: extractionAlert(sc.severity), Roles: roles}
		run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
			ID: id, TaskQueue: queue, TypedSearchAttributes: workflows.StartSearchAttributes(&input),
		}, workflows.WorkflowName, input)
		if err != nil {
			t.Fatal(err)
		}
		waitUntil(t, c, id, func(s workflows.Status) bool {
			return s.State == workflows.StateWaiting || s.State == workflows.StateContained || s.State == workflows.StateFailed
		})
		sc.drive(t, c, id)
		if err := run.Get(context.Background(), nil); err != nil {
			t.Fatalf("%s: %v", sc.name, err)
		}
		w.Stop()
		writeHistory(t, c, id, run.GetRunID(), filepath.Join("testdata", "histories", sc.name+".json"))
	}
}

func decide(t *testing.T, c client.Client, id string, d workflows.Decision) {
	t.Helper()
	waitUntil(t, c, id, func(s workflows.Status) bool { return s.State == workflows.StateWaiting })
	handle, err := c.UpdateWorkflow(context.Background(), client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: workflows.DecisionUpdate, Args: []any{d}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err == nil {
		err = handle.Get(context.Background(), nil)
	}
	if err != nil {
		t.Fatalf("decision %+v: %v", d, err)
	}
}

func resolve(t *testing.T, c client.Client, id string) {
	t.Helper()
	waitUntil(t, c, id, func(s workflows.Status) bool {
		return s.State == workflows.StateContained || s.State == workflows.StateFailed
	})
	handle, err := c.UpdateWorkflow(context.Background(), client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: workflows.ResolveUpdate, Args: []any{workflows.Resolution{By: "alice"}}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err == nil {
		err = handle.Get(context.Background(), nil)
	}
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
}

func waitUntil(t *testing.T, c client.Client, id string, cond func(workflows.Status) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if v, err := c.QueryWorkflow(context.Background(), id, "", workflows.StatusQuery); err == nil {
			var s workflows.Status
			if v.Get(&s) == nil && cond(s) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("incident %s never reached the awaited state", id)
}

func writeHistory(t *testing.T, c client.Client, id, runID, file string) {
	t.Helper()
	var history historypb.History
	iter := c.GetWorkflowHistory(context.Background(), id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		event, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		history.Events = append(history.Events, event)
	}
	data, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&history)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
