package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/workflows"
)

func TestIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	e := startE2E(t, func(c *config.Config) {
		c.Sources["limited"] = config.Source{Verify: c.Sources["siem"].Verify, RateLimit: &config.RateLimit{PerSecond: 0.01, Burst: 1}}
	})

	t.Run("a resolved alert opens nothing", func(t *testing.T) {
		body, _ := json.Marshal(map[string]any{"id": "r-1", "rule": "resolved-only", "category": "model_extraction", "status": "resolved"})
		resp, out := e.post(t, "siem", body, true)
		if resp.StatusCode != http.StatusOK || len(incidentIDs(out)) != 0 {
			t.Fatalf("%d %v, want 200 and no incident", resp.StatusCode, out)
		}
	})

	t.Run("a resolved alert reaches the open incident", func(t *testing.T) {
		resp, out := e.post(t, "siem", e.alertBody("fire-1"), true)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("firing: %d %v", resp.StatusCode, out)
		}
		// A recovery often carries no severity or category: it still
		// reaches the incident its fingerprint names.
		var resolved map[string]any
		_ = json.Unmarshal(e.alertBody("fire-1"), &resolved)
		resolved["id"], resolved["status"] = "fire-1-resolved", "resolved"
		delete(resolved, "severity")
		delete(resolved, "category")
		body, _ := json.Marshal(resolved)
		resp, out = e.post(t, "siem", body, true)
		if resp.StatusCode != http.StatusAccepted || len(incidentIDs(out)) != 1 {
			t.Fatalf("resolved: %d %v, want 202 and the open incident", resp.StatusCode, out)
		}
		id := out["alerts"].([]any)[0].(map[string]any)["incidents"].([]any)[0].(map[string]any)["id"].(string)
		e.waitFor(t, id, func(st workflows.Status) bool { return st.SourceStatus == "resolved" && st.AlertCount == 2 })
	})

	t.Run("a replayed message is answered once", func(t *testing.T) {
		body := e.alertBody("replay-1")
		first, _ := e.postMessage(t, "siem", "msg_replay", body, true)
		second, out := e.postMessage(t, "siem", "msg_replay", body, true)
		if first.StatusCode != http.StatusAccepted || second.StatusCode != http.StatusOK || out["duplicate"] != true {
			t.Fatalf("first %d, second %d %v; want 202 then 200 duplicate", first.StatusCode, second.StatusCode, out)
		}
	})

	t.Run("preview starts nothing", func(t *testing.T) {
		body, _ := json.Marshal(map[string]any{"id": "dry-1", "rule": "dry", "category": "model_extraction", "asset": map[string]any{"model": "dry-model"}})
		resp, out := e.post(t, "siem?preview=true", body, true)
		if resp.StatusCode != http.StatusOK || out["preview"] != true {
			t.Fatalf("%d %v, want 200 preview", resp.StatusCode, out)
		}
		receipt := out["alerts"].([]any)[0].(map[string]any)
		if receipt["alert"].(map[string]any)["asset"].(map[string]any)["model"] != "dry-model" || len(receipt["incidents"].([]any)) != 1 {
			t.Fatalf("preview answer %v, want the normalized alert and the playbook that would run", receipt)
		}
		id := receipt["incidents"].([]any)[0].(map[string]any)["id"].(string)
		if _, err := e.stack.Client.DescribeWorkflowExecution(context.Background(), id, ""); err == nil {
			t.Errorf("preview started incident %s", id)
		}
	})

	t.Run("dry run opens a dry-run incident apart from the live one", func(t *testing.T) {
		body, _ := json.Marshal(map[string]any{"id": "dry-2", "rule": "dry", "category": "model_extraction", "asset": map[string]any{"model": "dry-model"}})
		resp, out := e.post(t, "siem?dry_run=true", body, true)
		if resp.StatusCode != http.StatusAccepted || out["dry_run"] != true {
			t.Fatalf("%d %v, want 202 dry run", resp.StatusCode, out)
		}
		id := out["alerts"].([]any)[0].(map[string]any)["incidents"].([]any)[0].(map[string]any)["id"].(string)
		if !strings.Contains(id, "/dry-run-") {
			t.Fatalf("incident %s, want a dry-run id", id)
		}
		e.waitFor(t, id, func(st workflows.Status) bool { return st.DryRun && st.State != workflows.StateRunning })
	})

	t.Run("rate limit answers 429", func(t *testing.T) {
		body := e.alertBody("rl-1")
		first, _ := e.post(t, "limited", body, true)
		second, out := e.post(t, "limited", body, true)
		if first.StatusCode == http.StatusTooManyRequests || second.StatusCode != http.StatusTooManyRequests || second.Header.Get("Retry-After") == "" {
			t.Fatalf("first %d, second %d %v; want the second refused with Retry-After", first.StatusCode, second.StatusCode, out)
		}
	})

	t.Run("sources list their last alert", func(t *testing.T) {
		resp, out := e.call(t, http.MethodGet, "/v1/sources", e.token, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %v", resp.StatusCode, out)
		}
		for _, s := range out["sources"].([]any) {
			src := s.(map[string]any)
			if src["name"] == "siem" && (src["verify"] != "standard-webhooks" || src["format"] != "generic" || src["last_seen"] == nil) {
				t.Errorf("siem source listed as %v", src)
			}
		}
	})
}

// TestDryRunSource sends an alert to a source configured with dry_run: it
// opens a dry-run incident apart from live ones, whose actions record the
// requests they would send and send none.
func TestDryRunSource(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	e := startE2E(t, func(c *config.Config) {
		siem := c.Sources["siem"]
		siem.DryRun = true
		c.Sources["siem"] = siem
	})

	resp, out := e.post(t, "siem", e.alertBody("rehearsal-1"), true)
	if resp.StatusCode != http.StatusAccepted || out["dry_run"] != true {
		t.Fatalf("%d %v, want 202 dry run", resp.StatusCode, out)
	}
	ids := incidentIDs(out)
	want := "e2e-block-key/dry-run-" + fingerprintOf(t, e, "rehearsal-1")
	if len(ids) != 1 || !strings.HasPrefix(ids[0], want+"@") {
		t.Fatalf("incidents %v, want %s", ids, want)
	}

	e.waitFor(t, want, func(st workflows.Status) bool { return stepState(st, "block") == workflows.StepWaiting })
	decision := "/v1/incidents/" + want + "/steps/block/decision"
	if resp, out := e.call(t, http.MethodPost, decision, e.token, map[string]any{"approve": true}); resp.StatusCode != http.StatusOK {
		t.Fatalf("approval: %d %v", resp.StatusCode, out)
	}
	st := e.waitFor(t, want, func(st workflows.Status) bool { return stepState(st, "block") == workflows.StepDone })
	if !st.DryRun {
		t.Error("status dry_run is false")
	}
	var block *workflows.StepStatus
	for _, s := range st.Steps {
		if s.ID == "block" {
			block = s
		}
	}
	planned := []any{map[string]any{"method": "POST", "url": e.gwURL + "/key/block", "body": map[string]any{"key": "key-7f3a"}}}
	if block.Output["dry_run"] != true || !reflect.DeepEqual(block.Output["planned"], planned) {
		t.Errorf("block output = %v, want dry_run and planned %v", block.Output, planned)
	}
	if got := e.gateway.seen(); len(got) != 0 {
		t.Errorf("the gateway saw %v in a dry run", got)
	}
}
