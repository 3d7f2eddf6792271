package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/workflows"
)

// apiStub answers the incident API calls the CLI makes and records their
// bodies by method and path.
type apiStub struct {
	bodies map[string]map[string]any
}

func (s *apiStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer t0k" {
		http.Error(w, `{"title":"Unauthorized","detail":"no token"}`, http.StatusUnauthorized)
		return
	}
	var body map[string]any
	data, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(data, &body)
	s.bodies[r.Method+" "+r.URL.Path] = body
	w.Header().Set("Content-Type", "application/json")
	switch r.Method + " " + r.URL.Path {
	case "POST /v1/incidents":
		_, _ = w.Write([]byte(`{"alert_id":"manual-1","class":"ai_incident","incidents":[{"id":"manual-record/abc","playbook":"manual-record"}]}`))
	case "POST /v1/incidents/pb/abc/reclassify":
		_, _ = w.Write([]byte(`{"reclassified":{"state":"reclassified","undo":[{"id":"undo_block"}]},"incidents":[{"id":"perf/abc","playbook":"perf"}]}`))
	case "POST /v1/incidents/pb/abc/review":
		_, _ = w.Write([]byte(`{"review":{"id":"pb/abc/20250601T100000.000Z","incident":"pb/abc","location":"/ev",` +
			`"markdown":"reviews/pb%2Fabc/20250601T100000.000Z.md","html":"reviews/pb%2Fabc/20250601T100000.000Z.html"},` +
			`"markdown":"# Review","html":"<!DOCTYPE html>"}`))
	default:
		http.NotFound(w, r)
	}
}

func TestIncidentCommands(t *testing.T) {
	stub := &apiStub{bodies: map[string]map[string]any{}}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	outDir := t.TempDir()
	api := []string{"--addr", srv.URL, "--token", "t0k", "--data-dir", t.TempDir()}
	tests := []struct {
		name    string
		args    []string
		wantErr string
		want    string
		call    string
		sent    map[string]any
	}{
		{name: "open", args: []string{"incident", "open", "--discovered-by", "business", "--title", "Approvals jumped", "--severity", "high",
			"--model", "credit-scorer", "--technique", "AML.T0020"},
			want: "opened manual-record/abc (class ai_incident, playbook manual-record)", call: "POST /v1/incidents",
			sent: map[string]any{"discovered_by": "business", "title": "Approvals jumped", "severity": "high"}},
		{name: "open needs who found it", args: []string{"incidents", "open", "--title", "x"}, wantErr: "--discovered-by (soc, business, red-team)"},
		{name: "reclassify", args: []string{"incident", "reclassify", "pb/abc", "--class", "performance", "--reason", "drift"},
			want: "incident pb/abc is reclassified as performance (1 undo step(s)); it continues as perf/abc",
			call: "POST /v1/incidents/pb/abc/reclassify", sent: map[string]any{"class": "performance", "reason": "drift"}},
		{name: "reclassify needs a reason", args: []string{"incident", "reclassify", "pb/abc", "--class", "performance"}, wantErr: "--reason"},
		{name: "review", args: []string{"incident", "review", "pb/abc", "--output", outDir},
			want: "wrote " + filepath.Join(outDir, "pb_abc_20250601T100000.000Z.html"), call: "POST /v1/incidents/pb/abc/review"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, append(tt.args, api...)...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !strings.Contains(out, tt.want) {
				t.Fatalf("output %q, error %v; want %q", out, err, tt.want)
			}
			sent, called := stub.bodies[tt.call]
			if !called {
				t.Fatalf("no %s call", tt.call)
			}
			for k, v := range tt.sent {
				if sent[k] != v {
					t.Errorf("%s sent %s = %v, want %v", tt.call, k, sent[k], v)
				}
			}
		})
	}
	if md, err := os.ReadFile(filepath.Join(outDir, "pb_abc_20250601T100000.000Z.md")); err != nil || string(md) != "# Review" {
		t.Errorf("review --output wrote %q, %v", md, err)
	}
}

// TestPrintStatus: the text view of an incident says what a reader needs
// without --json: a dry run, the origin, the decisions and the requests a
// dry run planned.
func TestPrintStatus(t *testing.T) {
	at := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	local := at.Local().Format(time.DateTime)
	longBody := map[string]any{"key": "key-7f3a", "note": strings.Repeat("x", 200)}
	tests := []struct {
		name          string
		st            workflows.Status
		want, notWant []string
	}{
		{name: "dry run with planned requests",
			st: workflows.Status{ID: "pb/abc", DryRun: true, Alert: alerts.Alert{Title: "Extraction", Severity: 2, Source: "manual"},
				Steps: []*workflows.StepStatus{{ID: "block", Action: "http", State: workflows.StepDone, Output: map[string]any{
					"dry_run": true, "planned": []any{
						map[string]any{"method": "POST", "url": "http://gw/key/block", "body": map[string]any{"key": "key-7f3a"}},
						map[string]any{"method": "PUT", "url": "http://s3/b/o", "body": longBody},
						map[string]any{"method": "GET", "url": "http://gw/health"},
					}}}}},
			want: []string{"pb/abc   DRY RUN", "(severity 2, manual)\n", `  planned POST http://gw/key/block {"key":"key-7f3a"}` + "\n",
				`  planned PUT http://s3/b/o {"key":"key-7f3a","note":"xxx`, "xxx…\n", "  planned GET http://gw/health\n"},
			notWant: []string{"manual, )"}},
		{name: "decisions, resolution and origin",
			st: workflows.Status{ID: "pb/def", State: workflows.StateResolved,
				Origin:         workflows.Origin{Class: "ai_incident", DiscoveredBy: "business", OpenedBy: "carol", ReclassifiedFrom: "perf/abc"},
				ReclassifiedTo: "other/def",
				Alert:          alerts.Alert{Title: "Poisoning", Severity: 4, Source: "siem", Techniques: []string{"AML.T0020"}},
				Resolution:     &workflows.Resolution{By: "alice", Reason: "retrained", At: at},
				Steps: []*workflows.StepStatus{{ID: "rollback", Action: "rollback_model", State: workflows.StepRejected,
					Approval: &workflows.ApprovalStatus{Role: "mlops", Outcome: workflows.OutcomeRejected, Decisions: []workflows.Decision{
						{Approver: "bob", Approve: true, At: at, Via: "slack"},
						{Approver: "erin", Approve: false, Reason: "the model is fine", At: at, Via: "cli"},
					}}}}},
			want: []string{"Origin:    class ai_incident, discovered by business, opened by carol, reclassified from perf/abc, reclassified to other/def\n",
				"(severity 4, siem, AML.T0020)", "Resolved:  by alice at " + local + " (retrained)\n",
				"  approved by bob at " + local + " via slack\n", "  rejected by erin at " + local + " via cli: the model is fine\n"},
			notWant: []string{"DRY RUN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := printStatus(&out, &tt.st); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out.String(), w) {
					t.Errorf("output holds %q:\n%s", w, out.String())
				}
			}
		})
	}
}
