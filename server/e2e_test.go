package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/aisoar/aisoar/alerts"
	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/devserver"
	"github.com/aisoar/aisoar/stack"
	"github.com/aisoar/aisoar/webhooks"
	"github.com/aisoar/aisoar/workflows"
)

// gateway is the target the e2e playbook's http action calls, standing in
// for an LLM gateway's admin API.
type gateway struct {
	mu       sync.Mutex
	requests []string
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	g.mu.Lock()
	g.requests = append(g.requests, r.URL.Path+" "+strings.TrimSpace(string(body)))
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"blocked": true}`))
}

func (g *gateway) seen() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.requests...)
}

// e2e is aisoar running for real: embedded Temporal, the worker, and the
// HTTP server on loopback.
type e2e struct {
	temporal *devserver.Server
	stack    *stack.Stack
	api      *httptest.Server
	gateway  *gateway
	gwURL    string
	signer   *webhooks.StandardWebhooks
	token    string
}

// startE2E starts aisoar; mutate, when given, adjusts the config first.
func startE2E(t *testing.T, mutate ...func(*config.Config)) *e2e {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	temporal, err := devserver.Start(devserver.Options{Ephemeral: true, UIPort: -1, SearchAttributes: workflows.SearchAttributes(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = temporal.Stop() })

	gw := &gateway{}
	gwServer := httptest.NewServer(gw)
	t.Cleanup(gwServer.Close)

	dir := t.TempDir()
	secret, err := webhooks.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	const token = "test-token-alice"
	writeFile(t, filepath.Join(dir, "source.secret"), secret)
	writeFile(t, filepath.Join(dir, "alice.token"), token)
	writeFile(t, filepath.Join(dir, "bob.token"), "test-token-bob")
	builtin := false
	cfg := &config.Config{
		Temporal:       config.Temporal{Address: temporal.FrontendAddress(), Namespace: temporal.Namespace()},
		Playbooks:      []string{"testdata/playbooks"},
		BuiltinLibrary: &builtin,
		MaxBodyBytes:   4096,
		Roles:          map[string]config.Role{"soc": {Members: []string{"alice"}}},
		APITokens: []config.APIToken{
			{User: "alice", Token: config.Secret{File: filepath.Join(dir, "alice.token")}},
			{User: "bob", Token: config.Secret{File: filepath.Join(dir, "bob.token")}},
		},
		Sources: map[string]config.Source{"siem": {Verify: config.Verify{
			Type: config.VerifyStandardWebhooks, Secret: config.Secret{File: filepath.Join(dir, "source.secret")}}}},
		Actions: config.Actions{HTTP: config.HTTPAction{AllowHosts: []string{strings.TrimPrefix(gwServer.URL, "http://")}}},
	}
	for _, m := range mutate {
		m(cfg)
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := stack.Start(context.Background(), stack.Options{Config: cfg, Roles: stack.Roles{Worker: true, Server: true}, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	api := httptest.NewServer(s.Handler)
	t.Cleanup(api.Close)
	signer, err := webhooks.NewStandardWebhooks(secret)
	if err != nil {
		t.Fatal(err)
	}
	return &e2e{temporal: temporal, stack: s, api: api, gateway: gw, gwURL: gwServer.URL, signer: signer, token: token}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (e *e2e) alertBody(id string) []byte {
	body, _ := json.Marshal(map[string]any{
		"id": id, "rule": "token-spike", "title": "Token spike", "severity": "high", "category": "model_extraction",
		"asset":  map[string]any{"model": "fraud-scorer", "key_id": "key-7f3a"},
		"labels": map[string]any{"gateway": e.gwURL},
	})
	return body
}

// eventAt is an alert body with the time the SIEM saw the event.
func eventAt(t *testing.T, body []byte, at time.Time) []byte {
	t.Helper()
	var alert map[string]any
	if err := json.Unmarshal(body, &alert); err != nil {
		t.Fatal(err)
	}
	alert["time"] = at.UTC().Format(time.RFC3339)
	out, _ := json.Marshal(alert)
	return out
}

// post sends a webhook; sign=false sends it with a wrong signature.
func (e *e2e) post(t *testing.T, source string, body []byte, sign bool) (*http.Response, map[string]any) {
	t.Helper()
	return e.postMessage(t, source, "", body, sign)
}

// postMessage sends a webhook with a given Standard Webhooks message id
// (a fresh one when empty).
func (e *e2e) postMessage(t *testing.T, path, messageID string, body []byte, sign bool) (*http.Response, map[string]any) {
	t.Helper()
	if messageID == "" {
		messageID = fmt.Sprintf("msg_%d", time.Now().UnixNano())
	}
	req, _ := http.NewRequest(http.MethodPost, e.api.URL+"/v1/alerts/"+path, bytes.NewReader(body))
	e.signer.SetHeaders(req.Header, messageID, time.Now(), body)
	if !sign {
		req.Header.Set("webhook-signature", "v1,"+strings.Repeat("A", 43)+"=")
	}
	return do(t, req)
}

func (e *e2e) call(t *testing.T, method, path, token string, body any) (*http.Response, map[string]any) {
	t.Helper()
	var reader io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		reader = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, e.api.URL+path, reader)
	req.Header.Set("Authorization", "Bearer "+token)
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	if len(data) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s %s answered non-JSON %q", req.Method, req.URL.Path, data)
		}
	}
	return resp, out
}

// incidentIDs lists the incidents a webhook answer names.
func incidentIDs(answer map[string]any) []string {
	var ids []string
	for _, a := range answer["alerts"].([]any) {
		for _, inc := range a.(map[string]any)["incidents"].([]any) {
			run, _ := inc.(map[string]any)["run_id"].(string)
			ids = append(ids, inc.(map[string]any)["id"].(string)+"@"+run)
		}
	}
	return ids
}

// waitFor polls the incident's status until cond holds.
func (e *e2e) waitFor(t *testing.T, id string, cond func(workflows.Status) bool) workflows.Status {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		value, err := e.stack.Client.QueryWorkflow(context.Background(), id, "", workflows.StatusQuery)
		var st workflows.Status
		if err == nil && value.Get(&st) == nil && cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("incident %s: condition not reached; last status %+v (err %v)", id, st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func stepState(st workflows.Status, id string) string {
	for _, s := range append(st.Steps, st.Undo...) {
		if s.ID == id {
			return s.State
		}
	}
	return ""
}

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	e := startE2E(t)

	// The SIEM saw the event 10s before it sends the alert.
	alert := eventAt(t, e.alertBody("alert-1"), time.Now().Add(-10*time.Second))
	resp, answer := e.post(t, "siem", alert, true)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("signed alert: %d %v, want 202", resp.StatusCode, answer)
	}
	ids := incidentIDs(answer)
	if len(ids) != 1 {
		t.Fatalf("incidents = %v, want one", ids)
	}
	id, _, _ := strings.Cut(ids[0], "@")

	t.Run("duplicate alert joins the same incident", func(t *testing.T) {
		resp, again := e.post(t, "siem", alert, true)
		if resp.StatusCode != http.StatusAccepted || incidentIDs(again)[0] != ids[0] {
			t.Fatalf("redelivery: %d %v, want 202 and incident %s", resp.StatusCode, again, ids[0])
		}
		e.waitFor(t, id, func(st workflows.Status) bool { return st.Redeliveries == 1 && st.AlertCount == 1 })
	})

	st := e.waitFor(t, id, func(st workflows.Status) bool { return stepState(st, "block") == workflows.StepWaiting })
	if got := st.Steps[1].Approval.Message; got != "Block key-7f3a?" {
		t.Errorf("approval message = %q", got)
	}
	if len(e.gateway.seen()) != 0 {
		t.Fatalf("gateway called before approval: %v", e.gateway.seen())
	}

	decision := "/v1/incidents/" + id + "/steps/block/decision"
	t.Run("decisions are authenticated and validated", func(t *testing.T) {
		tests := []struct {
			token string
			body  any
			want  int
		}{
			{"wrong-token", map[string]any{"approve": true}, http.StatusUnauthorized},
			{"test-token-bob", map[string]any{"approve": true}, http.StatusConflict},
			{e.token, map[string]any{"approved": true}, http.StatusBadRequest},
			{e.token, map[string]any{}, http.StatusBadRequest},
		}
		for _, tt := range tests {
			resp, out := e.call(t, http.MethodPost, decision, tt.token, tt.body)
			if resp.StatusCode != tt.want {
				t.Errorf("decision %v with %s: %d %v, want %d", tt.body, tt.token, resp.StatusCode, out, tt.want)
			}
		}
		if resp, _ := e.call(t, http.MethodPost, "/v1/incidents/nope/abc/steps/block/decision", e.token, map[string]any{"approve": true}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("decision on a missing incident: %d, want 404", resp.StatusCode)
		}
	})

	resp, out := e.call(t, http.MethodPost, decision, e.token, map[string]any{"approve": true, "reason": "confirmed abuse"})
	if resp.StatusCode != http.StatusOK || out["outcome"] != workflows.OutcomeApproved {
		t.Fatalf("approval: %d %v", resp.StatusCode, out)
	}
	st = e.waitFor(t, id, func(st workflows.Status) bool { return st.State == workflows.StateContained })
	if got := e.gateway.seen(); len(got) != 1 || got[0] != `/key/block {"key":"key-7f3a"}` {
		t.Fatalf("gateway saw %v, want one block of key-7f3a", got)
	}
	if by := st.Steps[1].Approval.Decisions[0]; by.Approver != "alice" || by.Via != "api" {
		t.Errorf("decision recorded as %+v, want alice via api", by)
	}

	resp, out = e.call(t, http.MethodGet, "/v1/incidents", e.token, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(toJSON(out), id) {
		t.Errorf("incidents list: %d %v, want it to hold %s", resp.StatusCode, out, id)
	}

	if resp, out := e.call(t, http.MethodPost, "/v1/incidents/"+id+"/resolve", e.token, map[string]any{"reason": "key rotated"}); resp.StatusCode != http.StatusOK {
		t.Fatalf("resolve: %d %v", resp.StatusCode, out)
	}
	var final workflows.Status
	if err := e.stack.Client.GetWorkflow(context.Background(), id, "").Get(context.Background(), &final); err != nil {
		t.Fatal(err)
	}
	if final.State != workflows.StateResolved || stepState(final, "undo_block") != workflows.StepDone {
		t.Errorf("final state %s, undo %s; want resolved with undo done", final.State, stepState(final, "undo_block"))
	}
	if got := e.gateway.seen(); len(got) != 2 || got[1] != `/key/unblock {"key":"key-7f3a"}` {
		t.Errorf("gateway saw %v, want the unblock last", got)
	}

	t.Run("a closed incident answers 409 and says how it ended", func(t *testing.T) {
		tests := []struct {
			path string
			body map[string]any
			want []string
		}{
			{"/v1/incidents/" + id + "/resolve", map[string]any{"reason": "again"}, []string{"incident " + id + " is already resolved (at ", " by alice)"}},
			{decision, map[string]any{"approve": true}, []string{"incident " + id + " is already resolved (at ", "; it takes no more decisions"}},
		}
		for _, tt := range tests {
			resp, out := e.call(t, http.MethodPost, tt.path, e.token, tt.body)
			detail, _ := out["detail"].(string)
			if resp.StatusCode != http.StatusConflict {
				t.Errorf("POST %s: %d %v, want 409", tt.path, resp.StatusCode, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(detail, w) {
					t.Errorf("POST %s: detail %q lacks %q", tt.path, detail, w)
				}
			}
		}
	})

	t.Run("metrics carry the run", func(t *testing.T) {
		resp, err := http.Get(e.api.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		exposed := string(data)
		for _, want := range []string{
			`aisoar_alerts_received_total{outcome="accepted",source="siem"} 2`,
			`aisoar_incidents_total{dry_run="false",playbook="e2e-block-key",severity="4",state="running"} 1`,
			`aisoar_incidents_total{dry_run="false",playbook="e2e-block-key",severity="4",state="waiting-approval"} 1`,
			`aisoar_incidents_total{dry_run="false",playbook="e2e-block-key",severity="4",state="contained"} 1`,
			`aisoar_incidents_total{dry_run="false",playbook="e2e-block-key",severity="4",state="resolved"} 1`,
			`aisoar_step_duration_seconds_count{action="http",dry_run="false",outcome="done",playbook="e2e-block-key",severity="4"} 2`,
			`aisoar_step_duration_seconds_count{action="set",dry_run="false",outcome="done",playbook="e2e-block-key",severity="4"} 1`,
			`aisoar_approval_wait_seconds_count{dry_run="false",outcome="approved",playbook="e2e-block-key",role="soc",severity="4"} 1`,
			`aisoar_time_to_acknowledge_seconds_count{dry_run="false",playbook="e2e-block-key",severity="4"} 1`,
			// The alert and its redelivery, both 10s after the event.
			`aisoar_time_to_detect_seconds_count{severity="4",source="siem"} 2`,
			`aisoar_time_to_detect_seconds_bucket{severity="4",source="siem",le="5"} 0`,
			`aisoar_alerts_triaged_total{class="ai_incident"} 2`,
		} {
			if !strings.Contains(exposed, want+"\n") {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})
}

func toJSON(v any) string {
	data, _ := json.Marshal(v)
	return string(data)
}

func TestWebhookRefusals(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	e := startE2E(t)
	unmatched, _ := json.Marshal(map[string]any{"id": "x", "category": "other"})
	tests := []struct {
		name      string
		source    string
		body      []byte
		sign      bool
		want      int
		wantField string
	}{
		{"bad signature", "siem", e.alertBody("alert-bad-sig"), false, http.StatusUnauthorized, ""},
		{"unknown source", "nope", e.alertBody("alert-2"), true, http.StatusNotFound, ""},
		{"not JSON", "siem", []byte("severity=high"), true, http.StatusBadRequest, ""},
		{"bad field", "siem", []byte(`{"severity": "urgent"}`), true, http.StatusBadRequest, "severity"},
		{"too large", "siem", bytes.Repeat([]byte(" "), 5000), true, http.StatusRequestEntityTooLarge, ""},
		{"no playbook matches", "siem", unmatched, true, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, out := e.post(t, tt.source, tt.body, tt.sign)
			if resp.StatusCode != tt.want {
				t.Fatalf("%d %v, want %d", resp.StatusCode, out, tt.want)
			}
			if resp.StatusCode >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("content type %q, want application/problem+json", resp.Header.Get("Content-Type"))
			}
			if tt.wantField != "" && out["field"] != tt.wantField {
				t.Errorf("problem names field %v, want %q", out["field"], tt.wantField)
			}
		})
	}
	// The refused alert must not have started anything.
	_, err := e.stack.Client.DescribeWorkflowExecution(context.Background(), "e2e-block-key/"+fingerprintOf(t, e, "alert-bad-sig"), "")
	var notFound *serviceerror.NotFound
	if !errors.As(err, &notFound) {
		t.Errorf("after a bad signature, describing the incident gave %v, want not found", err)
	}
}

func TestTemporalDownAnswers503(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	e := startE2E(t)
	if err := e.temporal.Stop(); err != nil {
		t.Fatal(err)
	}
	resp, out := e.post(t, "siem", e.alertBody("alert-while-down"), true)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("with Temporal stopped: %d Retry-After %q %v, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), out)
	}
	if resp, _ := e.call(t, http.MethodGet, "/readyz", e.token, nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz with Temporal stopped: %d, want 503", resp.StatusCode)
	}
}

func fingerprintOf(t *testing.T, e *e2e, id string) string {
	t.Helper()
	decoded, err := alerts.NewGeneric("siem", alerts.GenericMapping{}).Decode(e.alertBody(id))
	if err != nil {
		t.Fatal(err)
	}
	return decoded[0].Fingerprint()
}
