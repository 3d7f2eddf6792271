package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aisoar/aisoar/activities"
	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/assets"
	"github.com/aisoar/aisoar/atlas"
	"github.com/aisoar/aisoar/playbooks"
	"github.com/aisoar/aisoar/webhooks"
	"github.com/aisoar/aisoar/workflows"
)

// simStub plays a running aisoar for `aisoar simulate`: it verifies and
// records the alerts, opens one incident per API key, and answers each
// incident's status, acknowledged on the second poll.
type simStub struct {
	t        *testing.T
	verifier *webhooks.StandardWebhooks
	first    time.Time

	mu     sync.Mutex
	bodies []map[string]any
	polls  map[string]int
}

const simToken = "sim-token"

func (s *simStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/alerts/siem":
		body, _ := io.ReadAll(r.Body)
		if err := s.verifier.Verify(r, body); err != nil {
			s.t.Errorf("alert signature: %v", err)
		}
		if q := r.URL.Query(); q.Get("dry_run") != "true" || q.Has("preview") {
			s.t.Errorf("alert posted with query %q, want dry_run=true", r.URL.RawQuery)
		}
		var alert map[string]any
		if err := json.Unmarshal(body, &alert); err != nil {
			s.t.Fatal(err)
		}
		s.bodies = append(s.bodies, alert)
		key := alert["asset"].(map[string]any)["key_id"]
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"dry_run": true, "alerts": [{"alert_id": %q, "fingerprint": "fp-%s", "incidents": [
			{"id": "model-extraction-containment/dry-run-%s", "playbook": "model-extraction-containment"}]}]}`, alert["id"], key, key)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/incidents/model-extraction-containment/dry-run-"):
		if got := r.Header.Get("Authorization"); got != "Bearer "+simToken {
			s.t.Errorf("incident asked with Authorization %q", got)
		}
		id := strings.TrimPrefix(r.URL.Path, "/v1/incidents/")
		s.polls[id]++
		st := workflows.Status{ID: id, Playbook: "model-extraction-containment", State: workflows.StateWaiting, DryRun: true, FirstSeen: s.first}
		if s.polls[id] > 1 {
			// key-7f3a is decided after 90 s, key-9c21 after 30 s.
			wait := 90 * time.Second
			if strings.HasSuffix(id, "key-9c21") {
				wait = 30 * time.Second
			}
			st.State, st.AcknowledgedAt = workflows.StateContained, s.first.Add(wait)
			st.Steps = []*workflows.StepStatus{{ID: "rotate_key", State: workflows.StepDone, Approval: &workflows.ApprovalStatus{
				Role: "soc", Outcome: workflows.OutcomeApproved,
				Decisions: []workflows.Decision{{Step: "rotate_key", Approver: "alice", Approve: true, At: st.AcknowledgedAt}},
			}}}
		}
		_ = json.NewEncoder(w).Encode(&st)
	default:
		s.t.Errorf("unexpected %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	}
}

func TestSimulatePostsDryRunAlertsAndTimesTheFirstDecisions(t *testing.T) {
	secret, err := webhooks.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := webhooks.NewStandardWebhooks(secret)
	if err != nil {
		t.Fatal(err)
	}
	stub := &simStub{t: t, verifier: verifier, first: time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC), polls: map[string]int{}}
	srv := httptest.NewServer(stub)
	defer srv.Close()

	out, err := run(t, "simulate", "model-extraction", "--addr", srv.URL, "--token", simToken, "--data-dir", t.TempDir(),
		"--source", "siem", "--secret", secret, "--speed", "1e6", "--poll", "5ms", "--timeout", "10s")
	if err != nil {
		t.Fatalf("simulate: %v\n%s", err, out)
	}

	stub.mu.Lock()
	defer stub.mu.Unlock()
	if len(stub.bodies) != 3 {
		t.Fatalf("posted %d alerts, want the 3 of the script", len(stub.bodies))
	}
	var keys []any
	for i, b := range stub.bodies {
		keys = append(keys, b["asset"].(map[string]any)["key_id"])
		if b["category"] != "model_extraction" || b["rule"] != "llm-gateway-extraction" {
			t.Errorf("alert %d: category %v rule %v, want the script's", i+1, b["category"], b["rule"])
		}
		if id, _ := b["id"].(string); !strings.HasPrefix(id, "tabletop-") || !strings.HasSuffix(id, fmt.Sprint("-", i+1)) {
			t.Errorf("alert %d has id %q, want tabletop-<run>-%d", i+1, id, i+1)
		}
		if b["group_key"] != stub.bodies[0]["group_key"] || !strings.HasPrefix(fmt.Sprint(b["group_key"]), "tabletop-") {
			t.Errorf("alert %d has group_key %v, want the run's tabletop-<run> on every alert", i+1, b["group_key"])
		}
	}
	if want := []any{"key-7f3a", "key-7f3a", "key-9c21"}; !slices.Equal(keys, want) {
		t.Errorf("posted keys %v, want %v", keys, want)
	}
	for _, w := range []string{
		"opened model-extraction-containment/dry-run-key-7f3a",
		"joined model-extraction-containment/dry-run-key-7f3a",
		"opened model-extraction-containment/dry-run-key-9c21",
		"rotate_key approved by alice",
		"1m30s",
		"Mean time to acknowledge: 1m0s (2 of 2 incident(s) acknowledged)",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestSimulateListsAndRefusesUnknown(t *testing.T) {
	out, err := run(t, "simulate")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"model-extraction", "data-poisoning", "adversarial-evasion", "model-supply-chain", "leaked-credential"} {
		if !strings.Contains(out, name) {
			t.Errorf("list lacks %s:\n%s", name, out)
		}
	}
	if _, err := run(t, "simulate", "nope", "--addr", "http://127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "model-extraction") {
		t.Errorf("unknown simulation: got %v, want the names listed", err)
	}
}

// TestShippedSimulationsMatchTheirPlaybooks decodes every shipped alert as
// the generic decoder does and matches it, against the example inventory,
// with the built-in library: each must open the playbook it is written for.
func TestShippedSimulationsMatchTheirPlaybooks(t *testing.T) {
	c, err := playbooks.NewCompiler(playbooks.CompilerOptions{Catalog: activities.Catalog(), ATLAS: atlas.Default().Names()})
	if err != nil {
		t.Fatal(err)
	}
	lib, err := c.LoadLibrary(playbooks.LoadOptions{Builtin: true})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := assets.Load("../../playbooks/library/testdata/inventory.yaml", assets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	names := simulationNames()
	if len(names) < 5 {
		t.Fatalf("shipped simulations %v, want one per incident class", names)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			sim, err := loadSimulation(name)
			if err != nil {
				t.Fatal(err)
			}
			if sim.Name != name || lib.Get(sim.Playbook) == nil {
				t.Fatalf("simulation %q (file %s) is written for playbook %q, which the library lacks", sim.Name, name, sim.Playbook)
			}
			for i := range sim.Alerts {
				a := &sim.Alerts[i]
				body, err := a.body("test", i+1)
				if err != nil {
					t.Fatal(err)
				}
				decoded, err := alerts.NewGeneric(devSource, alerts.GenericMapping{}).Decode(body)
				if err != nil {
					t.Fatalf("alert %d does not decode: %v", i+1, err)
				}
				class := playbooks.ClassAIIncident // as the default triage rule classifies
				if decoded[0].Category == "model_performance" {
					class = playbooks.ClassPerformance
				}
				vars := playbooks.NewVars(&decoded[0])
				vars.SetAsset(inv.Match(&decoded[0].Asset))
				matched, err := lib.Match(&decoded[0], vars, class)
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, m := range matched {
					ids = append(ids, m.Playbook.ID)
				}
				if want := []string{cmp.Or(a.Playbook, sim.Playbook)}; !slices.Equal(ids, want) {
					t.Errorf("alert %d (%s) matched %v, want %v", i+1, decoded[0].Title, ids, want)
				}
			}
		})
	}
}
