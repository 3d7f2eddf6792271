package server_test

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aisoar/aisoar/activities"
	"github.com/aisoar/aisoar/config"
	"github.com/aisoar/aisoar/internal/slacktest"
	"github.com/aisoar/aisoar/server"
	"github.com/aisoar/aisoar/workflows"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// withTriage adds the performance playbook, a triage rule that sends
// category drift to it, and an evidence store in a temporary directory.
func withTriage(t *testing.T) func(*config.Config) {
	dir := t.TempDir()
	return func(c *config.Config) {
		c.Playbooks = append(c.Playbooks, "testdata/triage")
		c.Triage = &config.Triage{Rules: []config.TriageRule{{Name: "drift", When: `alert.category == "drift"`, Class: config.ClassPerformance}}}
		c.Evidence.Dir = dir
	}
}

// status reads an incident's final or current status.
func (e *e2e) status(t *testing.T, id string) workflows.Status {
	t.Helper()
	return e.waitFor(t, id, func(workflows.Status) bool { return true })
}

// reclassify asks for a reclassification and decodes the answer.
func (e *e2e) reclassify(t *testing.T, id, class, reason string) (int, map[string]any) {
	t.Helper()
	resp, out := e.call(t, http.MethodPost, "/v1/incidents/"+id+"/reclassify", e.token, map[string]any{"class": class, "reason": reason})
	return resp.StatusCode, out
}

// successors lists the incidents an answer names.
func successors(answer map[string]any) []string {
	list, _ := answer["incidents"].([]any)
	var ids []string
	for _, inc := range list {
		ids = append(ids, inc.(map[string]any)["id"].(string))
	}
	return ids
}

func sameList(a, b []string) bool { return strings.Join(a, " ") == strings.Join(b, " ") }

func TestReclassifyTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	e := startE2E(t, withTriage(t))
	resp, answer := e.post(t, "siem", e.alertBody("alert-reclassify"), true)
	if resp.StatusCode != http.StatusAccepted || !strings.Contains(toJSON(answer), `"class":"ai_incident"`) {
		t.Fatalf("alert: %d %v, want 202 triaged ai_incident", resp.StatusCode, answer)
	}
	first, _, _ := strings.Cut(incidentIDs(answer)[0], "@")
	fingerprint := strings.TrimPrefix(first, "e2e-block-key/")
	e.waitFor(t, first, func(st workflows.Status) bool { return stepState(st, "block") == workflows.StepWaiting })
	if resp, out := e.call(t, http.MethodPost, "/v1/incidents/"+first+"/steps/block/decision", e.token, map[string]any{"approve": true}); resp.StatusCode != http.StatusOK {
		t.Fatalf("approval: %d %v", resp.StatusCode, out)
	}
	e.waitFor(t, first, func(st workflows.Status) bool { return st.State == workflows.StateContained })

	t.Run("refusals", func(t *testing.T) {
		tests := []struct {
			class string
			want  int
		}{
			{"drift", http.StatusBadRequest},
			{workflows.ClassAIIncident, http.StatusConflict}, // its own class
		}
		for _, tt := range tests {
			if code, out := e.reclassify(t, first, tt.class, "x"); code != tt.want {
				t.Errorf("reclassify as %s: %d %v, want %d", tt.class, code, out, tt.want)
			}
		}
		if st := e.status(t, first); st.State != workflows.StateContained {
			t.Errorf("after refusals the incident is %s, want it contained still", st.State)
		}
	})

	code, out := e.reclassify(t, first, workflows.ClassPerformance, "drift after a data refresh, not extraction")
	second := "e2e-perf-notify/" + fingerprint
	if code != http.StatusOK || !sameList(successors(out), []string{second}) {
		t.Fatalf("reclassify as performance: %d %v, want 200 continued as %s", code, out, second)
	}
	closed := e.status(t, first)
	if closed.State != workflows.StateReclassified || closed.ReclassifiedTo != second || stepState(closed, "undo_block") != workflows.StepDone {
		t.Errorf("first incident: state %s, reclassified to %q, undo_block %s; want reclassified to %s with its block undone",
			closed.State, closed.ReclassifiedTo, stepState(closed, "undo_block"), second)
	}
	if got := e.gateway.seen(); len(got) != 2 || !strings.HasPrefix(got[1], "/key/unblock") {
		t.Errorf("gateway saw %v, want the block undone", got)
	}
	st := e.waitFor(t, second, func(st workflows.Status) bool { return st.State == workflows.StateOpen })
	want := workflows.Origin{Class: workflows.ClassPerformance, DiscoveredBy: workflows.DiscoveredByDetection, ReclassifiedFrom: first, Reclassified: 1}
	if st.Origin != want {
		t.Errorf("second incident origin %+v, want %+v", st.Origin, want)
	}
	if code, out := e.reclassify(t, first, workflows.ClassPerformance, "again"); code != http.StatusConflict {
		t.Errorf("reclassifying a reclassified incident: %d %v, want 409", code, out)
	}

	code, out = e.reclassify(t, second, workflows.ClassAIIncident, "the drift was poisoning after all")
	if code != http.StatusOK || !sameList(successors(out), []string{first}) {
		t.Fatalf("reclassify back: %d %v, want 200 continued as %s", code, out, first)
	}
	third := e.waitFor(t, first, func(st workflows.Status) bool {
		return st.Origin.Reclassified == 2 && stepState(st, "block") == workflows.StepWaiting
	})
	want = workflows.Origin{Class: workflows.ClassAIIncident, DiscoveredBy: workflows.DiscoveredByDetection, ReclassifiedFrom: second, Reclassified: 2}
	if third.Origin != want {
		t.Errorf("third incident origin %+v, want %+v", third.Origin, want)
	}
	if st := e.status(t, second); st.State != workflows.StateReclassified || st.ReclassifiedTo != first {
		t.Errorf("second incident: state %s, reclassified to %q; want reclassified to %s", st.State, st.ReclassifiedTo, first)
	}

	t.Run("triage is counted", func(t *testing.T) {
		resp, err := http.Get(e.api.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if want := `aisoar_alerts_triaged_total{class="ai_incident"} 1` + "\n"; !strings.Contains(string(data), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	})
}

func TestTriageRoutesByClass(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	e := startE2E(t, withTriage(t))
	tests := []struct {
		name, category, class string
		playbooks             []string
	}{
		{"an attack goes to the security playbook", "model_extraction", workflows.ClassAIIncident, []string{"e2e-block-key"}},
		{"drift goes to the performance playbook", "drift", workflows.ClassPerformance, []string{"e2e-perf-notify"}},
		{"an unmatched AI incident opens nothing", "other", workflows.ClassAIIncident, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"id": "triage-" + tt.category, "rule": "rule-" + tt.category, "title": "T", "severity": "high",
				"category": tt.category, "asset": map[string]any{"model": "m", "key_id": "k"}, "labels": map[string]any{"gateway": e.gwURL}})
			_, answer := e.post(t, "siem", body, true)
			receipt := answer["alerts"].([]any)[0].(map[string]any)
			var got []string
			for _, id := range incidentIDs(answer) {
				pb, _, _ := strings.Cut(id, "/")
				got = append(got, pb)
			}
			if receipt["class"] != tt.class || !sameList(got, tt.playbooks) {
				t.Errorf("class %v, playbooks %v; want %s, %v", receipt["class"], got, tt.class, tt.playbooks)
			}
		})
	}
}

func TestManualIncident(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	e := startE2E(t, withTriage(t))
	report := map[string]any{
		"title": "Loan approvals jumped overnight", "description": "Branch staff saw approvals the old model refused.",
		"category": "data_poisoning", "severity": "high", "asset": map[string]any{"model": "credit-scorer"},
		"techniques": []string{"AML.T0020"}, "discovered_by": "business",
	}
	t.Run("refusals", func(t *testing.T) {
		with := func(k string, v any) map[string]any {
			r := map[string]any{}
			for key, val := range report {
				r[key] = val
			}
			r[k] = v
			return r
		}
		tests := []struct {
			name  string
			token string
			body  map[string]any
			want  int
			field string
		}{
			{"no token", "", report, http.StatusUnauthorized, ""},
			{"no title", e.token, with("title", " "), http.StatusBadRequest, "title"},
			{"detection is for alerts", e.token, with("discovered_by", "detection"), http.StatusBadRequest, "discovered_by"},
			{"unknown technique", e.token, with("techniques", []string{"AML.T9999"}), http.StatusBadRequest, "techniques"},
			{"bad severity", e.token, with("severity", "urgent"), http.StatusBadRequest, "severity"},
		}
		for _, tt := range tests {
			resp, out := e.call(t, http.MethodPost, "/v1/incidents", tt.token, tt.body)
			if resp.StatusCode != tt.want || (tt.field != "" && out["field"] != tt.field) {
				t.Errorf("%s: %d %v, want %d naming field %q", tt.name, resp.StatusCode, out, tt.want, tt.field)
			}
		}
	})

	resp, out := e.call(t, http.MethodPost, "/v1/incidents", e.token, report)
	ids := successors(out)
	if resp.StatusCode != http.StatusCreated || len(ids) != 1 || !strings.HasPrefix(ids[0], "manual-record/") || out["class"] != workflows.ClassAIIncident {
		t.Fatalf("open: %d %v, want 201 with one manual-record incident of class ai_incident", resp.StatusCode, out)
	}
	id := ids[0]
	st := e.waitFor(t, id, func(st workflows.Status) bool { return st.State == workflows.StateOpen })
	want := workflows.Origin{Class: workflows.ClassAIIncident, DiscoveredBy: workflows.DiscoveredByBusiness, OpenedBy: "alice"}
	if st.Origin != want || st.Alert.Source != server.ManualSource || st.Alert.Severity != 4 || stepState(st, "notify_soc") != workflows.StepDone {
		t.Errorf("incident origin %+v, source %s, severity %d, notify_soc %s; want %+v from source manual, severity 4, notified",
			st.Origin, st.Alert.Source, st.Alert.Severity, stepState(st, "notify_soc"), want)
	}
	if _, again := e.call(t, http.MethodPost, "/v1/incidents", e.token, report); sameList(successors(again), ids) {
		t.Errorf("a second report opened the same incident %v, want one of its own", ids)
	}

	code, problem := e.reclassify(t, id, workflows.ClassPerformance, "a data refresh")
	if detail, _ := problem["detail"].(string); code != http.StatusConflict || !strings.Contains(detail, "no playbook of class performance answers") ||
		!strings.Contains(detail, "e2e-perf-notify (trigger true)") {
		t.Errorf("reclassify with no playbook of the class: %d %v, want 409 naming the performance playbooks", code, problem)
	}
	if st := e.status(t, id); st.State != workflows.StateOpen || st.ReclassifiedTo != "" {
		t.Errorf("after the refused reclassification the incident is %s (to %q), want it open as it was", st.State, st.ReclassifiedTo)
	}
}

// timesInReviews match what changes from run to run in a review: times,
// durations, and the offsets from the alert.
var timesInReviews = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC|[+−]?\d+(\.\d+)?(ns|µs|ms|h|m|s)(\d+(\.\d+)?(ms|m|s))*`)

func TestReviewOfFinishedIncident(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	e := startE2E(t, withTriage(t))
	_, answer := e.post(t, "siem", e.alertBody("alert-review"), true)
	id, _, _ := strings.Cut(incidentIDs(answer)[0], "@")
	e.waitFor(t, id, func(st workflows.Status) bool { return stepState(st, "block") == workflows.StepWaiting })
	e.call(t, http.MethodPost, "/v1/incidents/"+id+"/steps/block/decision", e.token, map[string]any{"approve": true, "reason": "confirmed abuse"})
	e.waitFor(t, id, func(st workflows.Status) bool { return st.State == workflows.StateContained })
	e.call(t, http.MethodPost, "/v1/incidents/"+id+"/resolve", e.token, map[string]any{"reason": "key rotated"})
	if err := e.stack.Client.GetWorkflow(context.Background(), id, "").Get(context.Background(), nil); err != nil {
		t.Fatal(err)
	}

	resp, out := e.call(t, http.MethodPost, "/v1/incidents/"+id+"/review", e.token, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("review: %d %v", resp.StatusCode, out)
	}
	stored := out["review"].(map[string]any)
	reviewID := stored["id"].(string)
	if !strings.HasPrefix(reviewID, id+"/") || !strings.HasPrefix(stored["markdown"].(string), "reviews/") {
		t.Errorf("stored as %v, want under reviews/ with an id starting %s/", stored, id)
	}
	if !strings.HasPrefix(out["html"].(string), "<!DOCTYPE html>") {
		t.Errorf("html rendering does not start as a standalone page: %.60q", out["html"])
	}
	golden := filepath.Join("testdata", "review-e2e.md")
	got := timesInReviews.ReplaceAllString(out["markdown"].(string), "<t>")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want, err := os.ReadFile(golden); err != nil || got != string(want) {
		t.Errorf("review (times normalized) differs from %s (go test -update rewrites it; err %v):\n%s", golden, err, got)
	}

	t.Run("listed and read back", func(t *testing.T) {
		resp, list := e.call(t, http.MethodGet, "/v1/reviews?incident="+id, e.token, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(toJSON(list), reviewID) {
			t.Errorf("reviews list: %d %v, want it to hold %s", resp.StatusCode, list, reviewID)
		}
		req, _ := http.NewRequest(http.MethodGet, e.api.URL+"/v1/reviews/"+reviewID+"?format=markdown", nil)
		req.Header.Set("Authorization", "Bearer "+e.token)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		md, _ := io.ReadAll(r.Body)
		if r.StatusCode != http.StatusOK || string(md) != out["markdown"] {
			t.Errorf("review %s as markdown: %d, want what generating it answered", reviewID, r.StatusCode)
		}
		if resp, _ := e.call(t, http.MethodGet, "/v1/reviews/"+id+"/20000101T000000.000Z", e.token, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("a review never written: %d, want 404", resp.StatusCode)
		}
	})
}

// clickReclassify is the block_actions payload of the Reclassify button
// of an approval message in channel C0SOC.
func clickReclassify(user, incident, responseURL string) []byte {
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": user, "team_id": slacktest.TeamID}, "api_app_id": "A0AISOAR",
		"team":       map[string]any{"id": slacktest.TeamID},
		"container":  map[string]any{"type": "message", "message_ts": "1712345678.000100", "channel_id": "C0SOC"},
		"channel":    map[string]any{"id": "C0SOC", "name": "soc"},
		"trigger_id": "trigger-reclassify", "response_url": responseURL,
		"actions": []any{map[string]any{"type": "button", "action_id": activities.SlackReclassifyAction, "block_id": "aisoar_actions",
			"value": incident, "action_ts": "1712345679.000200"}},
	})
	return payload
}

// submitReclassify is the view_submission of the reclassify dialog.
func submitReclassify(user, metadata, reason string) []byte {
	payload, _ := json.Marshal(map[string]any{
		"type": "view_submission", "user": map[string]any{"id": user, "team_id": slacktest.TeamID}, "api_app_id": "A0AISOAR",
		"team": map[string]any{"id": slacktest.TeamID}, "trigger_id": "trigger-submit",
		"view": map[string]any{
			"id": "V000000002", "type": "modal", "callback_id": server.SlackReclassifyCallback, "private_metadata": metadata,
			"state": map[string]any{"values": map[string]any{
				"reason": map[string]any{"reason": map[string]any{"type": "plain_text_input", "value": reason}},
			}},
		},
	})
	return payload
}

func TestSlackReclassifyButton(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	double := slacktest.New(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "slack-bot.token"), slacktest.DefaultToken)
	writeFile(t, filepath.Join(dir, "slack-signing.secret"), slackSigningSecret)
	base := startE2E(t, withTriage(t), func(c *config.Config) {
		c.Slack = &config.Slack{BotToken: config.Secret{File: filepath.Join(dir, "slack-bot.token")},
			SigningSecret: config.Secret{File: filepath.Join(dir, "slack-signing.secret")}, APIURL: double.URL(),
			Users: map[string]string{"U0ALICE": "alice"}}
	})
	t.Cleanup(base.stack.Handler.Wait)
	e := &slackE2E{e2e: base, slack: double, signer: slackSigner(t, slackSigningSecret)}
	handler := e.stack.Handler
	const interactions = "/v1/slack/interactions"
	incident := e.openIncident(t, "key-slack-reclassify")
	fingerprint := strings.TrimPrefix(incident, "e2e-block-key/")

	// Alice opens the dialog; a submission by Mallory, whom the config does
	// not know, is refused to her alone.
	responseURL := e.slack.ResponseURL()
	resp, body := e.postSlack(t, interactions, payloadForm(clickReclassify("U0ALICE", incident, responseURL)), e.signer, time.Now())
	if resp.StatusCode != http.StatusOK || len(body) != 0 {
		t.Fatalf("click: %d %q, want 200 with an empty body", resp.StatusCode, body)
	}
	handler.Wait()
	opened := e.slack.Calls("views.open")
	if len(opened) != 1 || opened[0].View["callback_id"] != server.SlackReclassifyCallback {
		t.Fatalf("views.open calls %+v, want the reclassify dialog", opened)
	}
	metadata, _ := opened[0].View["private_metadata"].(string)
	if want := incident + "\nC0SOC\n1712345678.000100\n" + responseURL; metadata != want {
		t.Fatalf("dialog metadata %q, want %q", metadata, want)
	}
	e.postSlack(t, interactions, payloadForm(submitReclassify("U0MALLORY", metadata, "not an attack")), e.signer, time.Now())
	handler.Wait()
	if calls := e.slack.ResponseURLCalls(); len(calls) != 1 || !strings.Contains(calls[0].Text, "aisoar does not know you") {
		t.Errorf("response_url calls %+v, want mallory told she is unknown", calls)
	}
	if st := e.status(t, incident); st.ReclassifiedTo != "" {
		t.Fatalf("an unknown user reclassified the incident: %+v", st)
	}

	resp, body = e.postSlack(t, interactions, payloadForm(submitReclassify("U0ALICE", metadata, "drift after a data refresh")), e.signer, time.Now())
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"clear"`) {
		t.Fatalf("submission: %d %s, want the dialog cleared", resp.StatusCode, body)
	}
	handler.Wait()
	st := e.status(t, incident)
	successor := "e2e-perf-notify/" + fingerprint
	if st.State != workflows.StateReclassified || st.ReclassifiedTo != successor || st.Resolution.By != "alice" {
		t.Fatalf("incident %s (to %q, resolution %+v), want reclassified by alice to %s", st.State, st.ReclassifiedTo, st.Resolution, successor)
	}
	if next := e.status(t, successor); next.Origin.ReclassifiedFrom != incident || next.Origin.Class != workflows.ClassPerformance {
		t.Errorf("successor origin %+v, want it from %s as performance", next.Origin, incident)
	}
	posts := e.slack.Calls("chat.postMessage")
	if len(posts) != 1 || posts[0].Channel != "C0SOC" || posts[0].ThreadTS != "1712345678.000100" ||
		!strings.Contains(posts[0].Text, "<@U0ALICE> reclassified") || !strings.Contains(posts[0].Text, successor) {
		t.Errorf("chat.postMessage calls %+v, want one in the message's thread saying alice reclassified it", posts)
	}
}
